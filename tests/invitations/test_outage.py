"""A gateway outage of any length delays invitations and never loses them; what was marked
«не доставлено» before this fix can be put back in the queue by support."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests
from flask import Flask
from sqlalchemy import select

from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.invitations import services
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.models import Invitation
from cabinet.invitations.rules import Backoff
from cabinet.invitations.settings import GatewayConfig, InvitationSettings
from tests.invitations.conftest import TOKEN, Simulator
from tests.invitations.test_delivery import assert_exactly_once, enqueue, statuses
from tests.security.figures import record_fault


def production_like(app: Flask, simulator: Simulator) -> InvitationSettings:
    """The documented defaults: 8 attempts, back-off 2 s … 10 min, breaker 5 failures / 30 s."""
    base: InvitationSettings = app.extensions["invitations"]
    return dataclasses.replace(
        base,
        sms=GatewayConfig(simulator.url + "/sms", TOKEN),
        email=GatewayConfig(simulator.url + "/email", TOKEN),
        backoff=Backoff(base_seconds=2, max_seconds=600, max_attempts=8),
        connect_timeout=2,
        read_timeout=2,
        breaker_threshold=5,
        breaker_cooldown_seconds=30,
    )


def run_for(worker: Worker, clock: SettableClock, seconds: int, step: int = 10) -> None:
    """The worker's loop over simulated time: a pass every `step` seconds."""
    for _ in range(seconds // step):
        clock.set(clock.now() + timedelta(seconds=step))
        worker.run_pass(batch=20)
        db.session.remove()


def test_an_hour_long_outage_delays_and_loses_nothing(
    app: Flask, ctx: Flask, simulator: Simulator
) -> None:
    clock = SettableClock(datetime.now(UTC))
    keys = enqueue(30)
    simulator.faults(error_rate=1)  # every request: 503
    with requests.Session() as session:
        settings = production_like(app, simulator)
        worker = Worker(
            Context(clock, ZoneInfo("Europe/Moscow")), settings, http_gateways(settings, session)
        )
        run_for(worker, clock, 3600)
        failed_after_hour = statuses()["failed"]
        assert failed_after_hour == 0  # an hour down, nothing given up
        down_requests = simulator.requests()
        assert down_requests < 200  # probes, not a hammering: ~1 per 30 s after the first 5
        simulator.faults(error_rate=0)
        run_for(worker, clock, 1200)
    final = statuses()
    record_fault(
        "gateway_down_one_hour",
        messages=30,
        simulated_outage_seconds=3600,
        gateway_requests_during_outage=down_requests,
        failed_after_outage=failed_after_hour,
        delivered=final["sent"],
        undelivered=final["failed"],
    )
    assert final == Counter({"sent": 30})
    assert_exactly_once(simulator, keys)


def test_support_requeues_failed_invitations(app: Flask, ctx: Flask, simulator: Simulator) -> None:
    clock = SettableClock(datetime.now(UTC))
    context = Context(clock, ZoneInfo("Europe/Moscow"))
    keys = enqueue(3)
    db.session.execute(
        Invitation.__table__.update().values(status="failed", attempts=8, last_error="HTTP 503")
    )
    db.session.commit()
    first = db.session.scalars(select(Invitation.id).order_by(Invitation.id)).first()
    assert first is not None
    assert services.requeue_failed(context, [first]) == [first]
    assert statuses() == Counter({"failed": 2, "queued": 1})
    assert len(services.requeue_failed(context)) == 2
    with requests.Session() as session:
        settings = production_like(app, simulator)
        worker = Worker(context, settings, http_gateways(settings, session))
        run_for(worker, clock, 60)
    assert statuses() == Counter({"sent": 3})
    assert_exactly_once(simulator, keys)


def test_the_requeue_command(app: Flask, ctx: Flask) -> None:
    enqueue(2)
    db.session.execute(Invitation.__table__.update().values(status="failed"))
    db.session.commit()
    db.session.remove()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["invitations", "requeue"]).exit_code == 1
    result = runner.invoke(args=["invitations", "requeue", "--all"])
    assert result.exit_code == 0, result.output
    assert "Снова в очереди: 2." in result.output
    assert statuses() == Counter({"queued": 2})
