"""The delivery worker against the simulator over real HTTP, with faults injected."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from cabinet.db import db
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.models import Invitation
from cabinet.invitations.rules import Backoff
from cabinet.invitations.settings import GatewayConfig, InvitationSettings
from tests.conftest import live_program
from tests.invitations.conftest import TOKEN, Simulator
from tests.support.factories import invitation, make_client

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = int(os.environ.get("DELIVERY_MESSAGES", "1000"))


def worker_settings(app: Flask, simulator: Simulator, **overrides: object) -> InvitationSettings:
    base: InvitationSettings = app.extensions["invitations"]
    fast = dataclasses.replace(
        base,
        sms=GatewayConfig(simulator.url + "/sms", TOKEN),
        email=GatewayConfig(simulator.url + "/email", TOKEN),
        backoff=Backoff(base_seconds=0.001, max_seconds=0.01, max_attempts=12),
        connect_timeout=2,
        read_timeout=2,
        lease_seconds=30,
        breaker_threshold=1000,
        breaker_cooldown_seconds=0.05,
    )
    return dataclasses.replace(fast, **overrides)  # type: ignore[arg-type]


def enqueue(count: int, channel: str = "sms") -> list[str]:
    """`count` queued invitations of one member, written straight into the outbox."""
    make_client(1, registered_at=datetime.now(UTC) - timedelta(days=60))
    from cabinet.referrals.models import Member

    db.session.add(Member(client_id=1, code="5e83e12b1", joined_at=datetime.now(UTC)))
    db.session.flush()
    return queue_rows(count, channel)


def queue_rows(count: int, channel: str = "sms") -> list[str]:
    """`count` more queued invitations of the member `enqueue` made; their keys."""
    now = datetime.now(UTC)
    keys = []
    rows = []
    for n in range(count):
        key = str(uuid.uuid4())
        keys.append(key)
        to = f"+7910{n:07d}" if channel == "sms" else f"friend{n}@example.ru"
        payload = {"to": to, "text": f"Код-приглашение: 5e83e12b1 ({n})"}
        if channel == "email":
            payload.update(subject="Приглашение", html="<p>Код</p>")
        rows.append(invitation(1, to, now, channel=channel, key=key, payload=payload))
    db.session.add_all(rows)
    db.session.commit()
    return keys


def statuses() -> Counter[str]:
    db.session.rollback()
    return Counter(
        dict(
            db.session.execute(
                select(Invitation.status, func.count()).group_by(Invitation.status)
            ).all()
        )
    )


def drain(app: Flask, worker: Worker, stalled_after: float = 60) -> None:
    """Passes until the outbox is empty. It fails when the outbox stops draining (nothing
    claimed for `stalled_after` seconds while messages are pending), not when a busy machine
    makes a thousand messages take long."""
    progress = time.monotonic()
    while True:
        with app.app_context():
            report = worker.run_pass(batch=50)
            db.session.remove()
        if report.claimed:
            progress = time.monotonic()
            continue
        with app.app_context():
            pending = statuses()["queued"] + statuses()["sending"]
            db.session.remove()
        if pending == 0:
            return
        assert time.monotonic() - progress < stalled_after, f"{pending} messages stuck"
        time.sleep(0.01)  # a retry is due within the backoff's 10 ms


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def assert_exactly_once(simulator: Simulator, keys: list[str]) -> None:
    kept = Counter(m["key"] for m in simulator.messages())
    assert set(kept) == set(keys)
    assert max(kept.values()) == 1


def test_one_thousand_messages_with_30_percent_faults_arrive_exactly_once(
    app: Flask, ctx: Flask, simulator: Simulator, session: requests.Session
) -> None:
    keys = enqueue(MESSAGES)
    simulator.faults(error_rate=0.15, ghost_rate=0.1, rate_limit_rate=0.05, retry_after=0)
    settings = worker_settings(app, simulator)
    worker = Worker(live_program(app), settings, http_gateways(settings, session))
    drain(app, worker)
    assert statuses() == Counter({"sent": MESSAGES})
    assert_exactly_once(simulator, keys)
    requests_made = simulator.requests()
    assert MESSAGES * 1.2 < requests_made < MESSAGES * 2  # faults were really retried
    attempts = db.session.scalar(select(func.max(Invitation.attempts)))
    assert attempts is not None and attempts <= settings.backoff.max_attempts


def test_three_workers_at_once_share_the_outbox(
    app: Flask, ctx: Flask, simulator: Simulator
) -> None:
    keys = enqueue(300)
    simulator.faults(error_rate=0.2, ghost_rate=0.1, retry_after=0)
    settings = worker_settings(app, simulator)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with requests.Session() as own:
                drain(app, Worker(live_program(app), settings, http_gateways(settings, own)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=900)  # a guard against a hang only: drain() ends each
    assert errors == []
    assert statuses() == Counter({"sent": 300})
    assert_exactly_once(simulator, keys)


def test_a_4xx_is_a_permanent_failure(
    app: Flask, ctx: Flask, simulator: Simulator, session: requests.Session
) -> None:
    enqueue(3)
    simulator.faults(bad_request_rate=1)
    settings = worker_settings(app, simulator)
    drain(app, Worker(live_program(app), settings, http_gateways(settings, session)))
    assert statuses() == Counter({"failed": 3})
    assert simulator.requests() == 3
    assert db.session.scalars(select(Invitation.last_error)).first() == (
        "HTTP 400: шлюз отклонил сообщение"
    )


def test_attempts_are_capped(
    app: Flask, ctx: Flask, simulator: Simulator, session: requests.Session
) -> None:
    enqueue(2)
    simulator.faults(error_rate=1)
    settings = worker_settings(
        app, simulator, backoff=Backoff(base_seconds=0.001, max_seconds=0.01, max_attempts=3)
    )
    drain(app, Worker(live_program(app), settings, http_gateways(settings, session)))
    assert statuses() == Counter({"failed": 2})
    assert simulator.requests() == 6  # 2 messages × 3 attempts, and no more


def test_retry_after_is_honoured(
    app: Flask, ctx: Flask, simulator: Simulator, session: requests.Session
) -> None:
    enqueue(1)
    simulator.faults(rate_limit_rate=1, retry_after=30)
    settings = worker_settings(
        app, simulator, backoff=Backoff(base_seconds=0.001, max_seconds=600, max_attempts=5)
    )
    worker = Worker(live_program(app), settings, http_gateways(settings, session))
    before = datetime.now(UTC)
    assert worker.run_pass().retried == 1
    db.session.rollback()
    row = db.session.scalars(select(Invitation)).one()
    assert row.status == "queued"
    assert row.next_attempt_at >= before + timedelta(seconds=30)
    assert worker.run_pass().claimed == 0  # not due yet: the gateway is not hammered


def test_an_open_circuit_stops_calling_a_dead_gateway(
    app: Flask, ctx: Flask, simulator: Simulator, session: requests.Session
) -> None:
    enqueue(10)
    simulator.faults(error_rate=1)
    settings = worker_settings(app, simulator, breaker_threshold=3, breaker_cooldown_seconds=60)
    worker = Worker(live_program(app), settings, http_gateways(settings, session))
    report = worker.run_pass(batch=10)
    assert simulator.requests() == 3
    assert (report.claimed, report.retried) == (10, 10)
    assert worker.run_pass(batch=10).claimed == 0  # the breaker is open
    db.session.rollback()
    attempts = sorted(db.session.scalars(select(Invitation.attempts)))
    assert attempts == [0] * 7 + [1] * 3  # the held-back messages kept their attempts


@dataclasses.dataclass(frozen=True)
class Ahead:
    """The wall clock moved `by` into the future."""

    by: timedelta

    def now(self) -> datetime:
        return datetime.now(UTC) + self.by


def kill_a_worker_mid_send(env: dict[str, str], reached: Callable[[], int]) -> None:
    """A real `flask invitations deliver --loop` process, killed (SIGKILL) once the server it
    sends to holds one of its messages (`reached` turns non-zero)."""
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "invitations", "deliver", "--loop", "--batch", "5"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while reached() == 0:
            assert worker.poll() is None, "the worker exited before sending anything"
            assert time.monotonic() < deadline, "the worker never reached the server"
            time.sleep(0.01)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)


@pytest.mark.slow
def test_a_worker_killed_mid_send_loses_nothing(
    app: Flask, ctx: Flask, simulator: Simulator, database_url: str
) -> None:
    keys = enqueue(5)
    db.session.remove()
    simulator.faults(hold=True)  # the worker's request waits at the gateway: it dies mid-send
    lease = timedelta(seconds=60)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SMS_GATEWAY_URL": simulator.url + "/sms",
        "SMS_GATEWAY_TOKEN": TOKEN,
        "INVITE_LEASE_SECONDS": str(lease.total_seconds()),
        "GATEWAY_READ_TIMEOUT": "60",
        "SECRET_KEY": "k" * 40,
    }
    kill_a_worker_mid_send(env, simulator.held)
    assert statuses() == Counter({"sending": 5})  # claimed, one mid-send, owner dead
    simulator.faults()  # from now on the gateway answers at once
    settings = worker_settings(app, simulator)
    with requests.Session() as own:
        gateways = http_gateways(settings, own)
        with app.app_context():
            assert Worker(live_program(app), settings, gateways).run_pass().claimed == 0
            db.session.remove()  # the dead worker's lease still holds them
        later = dataclasses.replace(live_program(app), clock=Ahead(lease + timedelta(seconds=1)))
        drain(app, Worker(later, settings, gateways))  # once the lease has run out
    simulator.release()  # the orphaned first request now reaches the gateway too
    assert statuses() == Counter({"sent": 5})
    assert_exactly_once(simulator, keys)
