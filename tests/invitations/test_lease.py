"""Two real worker processes against a slow but healthy gateway: every message is POSTed once.

The gateway answers 200 after a delay, so a claimed batch takes longer than the lease. The
worker that holds it renews the lease while it sends (a heartbeat), never starts a send it
cannot finish inside the lease it holds, and on SIGTERM gives back what it has not sent.
The lease is shortened through the settings (`INVITE_LEASE_SECONDS`) so this runs in seconds.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from cabinet.db import db
from cabinet.invitations.delivery import PassReport, Worker, http_gateways
from cabinet.invitations.models import Invitation
from tests.conftest import live_program
from tests.invitations.conftest import TOKEN, Simulator, TricklingServer
from tests.invitations.test_delivery import Ahead, enqueue, queue_rows, statuses, worker_settings

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 2.0
LATENCY_MS = 300  # 16 messages a batch: 4.8 s of sending, more than two leases


def start_worker(database_url: str, simulator: Simulator, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "invitations", "deliver", "--loop", "--batch", "20"]
        + ["--idle", "0.05"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "SMS_GATEWAY_URL": simulator.url + "/sms",
            "SMS_GATEWAY_TOKEN": TOKEN,
            "INVITE_LEASE_SECONDS": str(LEASE_SECONDS),
            "GATEWAY_DEADLINE_SECONDS": "1.5",
            "GATEWAY_READ_TIMEOUT": "1.5",
            "SECRET_KEY": "k" * 40,
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def stop(worker: subprocess.Popen[bytes]) -> tuple[int, str]:
    """SIGTERM, then the worker's exit code and what it printed."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
    out, err = worker.communicate(timeout=60)  # a guard against a hang only
    return worker.returncode, (out + err).decode()


def pending() -> int:
    counts = statuses()
    return counts["queued"] + counts["sending"]


def wait_until(condition: object, workers: list[subprocess.Popen[bytes]], what: str) -> None:
    """Poll until `condition()` holds; fail when a worker dies or nothing moves for a minute."""
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        for worker in workers:
            assert worker.poll() is None, f"a worker exited: {stop(worker)[1]}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_two_workers_and_a_slow_gateway_post_each_message_once(
    app: Flask, ctx: Flask, simulator: Simulator, database_url: str
) -> None:
    keys = enqueue(16)
    db.session.remove()
    simulator.faults(latency_ms=LATENCY_MS)  # healthy: every answer is 200, after a while
    workers = [start_worker(database_url, simulator) for _ in range(2)]
    try:
        wait_until(lambda: pending() == 0, workers, "every message sent or given up")
    finally:
        outputs = [stop(worker) for worker in workers]
    assert [code for code, _ in outputs] == [0, 0], outputs
    assert statuses() == Counter({"sent": 16})
    assert simulator.requests() == 16  # each message POSTed exactly once
    assert sorted(m["key"] for m in simulator.messages()) == sorted(keys)
    assert set(db.session.scalars(select(Invitation.attempts))) == {1}
    assert set(db.session.scalars(select(Invitation.last_error))) == {None}


@pytest.mark.slow
def test_sigterm_finishes_the_send_in_flight_and_gives_the_rest_back(
    app: Flask, ctx: Flask, simulator: Simulator, database_url: str
) -> None:
    enqueue(16)
    db.session.remove()
    simulator.faults(latency_ms=LATENCY_MS)
    worker = start_worker(database_url, simulator)
    try:
        wait_until(lambda: len(simulator.messages()) >= 1, [worker], "a first message sent")
    finally:
        code, output = stop(worker)
    assert code == 0, output
    assert "Отправка приглашений остановлена." in output
    counts = statuses()
    sent = counts["sent"]
    # What reached the gateway is marked sent; the rest is back in the queue, its attempt
    # given back, for the next worker to take at once (no lease to wait out).
    assert counts == Counter({"sent": sent, "queued": 16 - sent})
    assert 1 <= sent < 16
    assert simulator.requests() == sent
    queued = db.session.scalars(select(Invitation).where(Invitation.status == "queued")).all()
    assert {(row.attempts, row.lease_until, row.lease_token) for row in queued} == {(0, None, None)}


@pytest.mark.slow
def test_a_trickling_sms_gateway_holds_neither_the_e_mails_nor_the_worker(
    app: Flask, ctx: Flask, simulator: Simulator, trickling: TricklingServer, database_url: str
) -> None:
    """The SMS gateway trickles its answer (a byte every 0.3 s, half a minute in all); the
    e-mails go through a healthy gateway meanwhile, and the SMS call ends at its deadline."""
    enqueue(1, "sms")
    db.session.remove()
    queue_rows(5, "email")
    worker = start_worker(
        database_url,
        simulator,
        SMS_GATEWAY_URL=trickling.url + "/sms",
        EMAIL_GATEWAY_URL=simulator.url + "/email",
        EMAIL_GATEWAY_TOKEN=TOKEN,
        GATEWAY_DEADLINE_SECONDS="1.5",  # half a minute of trickle is cut after 1.5 s
    )
    try:
        wait_until(lambda: trickling.calls >= 1, [worker], "the SMS gateway called")
        wait_until(lambda: len(simulator.messages()) == 5, [worker], "the 5 e-mails sent")
        # The first SMS call was cut at its deadline, not waited out: the worker came back
        # and called again (the gateway's answer alone takes half a minute).
        wait_until(lambda: trickling.calls >= 2, [worker], "the SMS call cut and retried")
    finally:
        code, output = stop(worker)
    assert code == 0, output
    assert statuses()["sent"] == 5
    sms = db.session.scalars(select(Invitation).where(Invitation.channel == "sms")).one()
    assert sms.status == "queued"
    assert sms.last_error == "шлюз не ответил за 1.5 с"


def superseded_while_sending(
    app: Flask, simulator: Simulator, session: requests.Session
) -> tuple[Worker, list[PassReport], threading.Thread, Worker]:
    """Worker A's call waits at the gateway; worker B's clock is past A's lease: B may take the
    message over. Returns B and A's thread (its report lands in the list)."""
    enqueue(1)
    db.session.remove()
    simulator.faults(hold=True)
    settings = worker_settings(app, simulator)
    first = Worker(live_program(app), settings, http_gateways(settings, session))
    reports: list[PassReport] = []

    def run() -> None:
        with app.app_context():
            reports.append(first.run_pass())
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while simulator.held() == 0:
        assert time.monotonic() < deadline, "worker A never reached the gateway"
        time.sleep(0.01)
    simulator.faults()  # from now on the gateway answers at once (A's call still waits)
    ahead = timedelta(seconds=settings.lease_seconds + 1)
    later = dataclasses.replace(live_program(app), clock=Ahead(ahead))
    return first, reports, thread, Worker(later, settings, http_gateways(settings, session))


def test_a_superseded_holder_s_delivery_counts_when_nobody_else_has_sent(
    app: Flask, ctx: Flask, simulator: Simulator
) -> None:
    with requests.Session() as session:
        _, reports, thread, second = superseded_while_sending(app, simulator, session)
        with app.app_context():
            taken, _ = second._claim(20, PassReport())  # B holds it now, has not sent yet
            db.session.remove()
        assert len(taken) == 1
        simulator.release()
        thread.join(timeout=60)
        (report,) = reports
        assert (report.sent, report.superseded) == (1, 0)  # A's 200 is recorded
        with app.app_context():
            assert second.run_pass().claimed == 0  # nothing left for B to send
            db.session.remove()
    row = db.session.scalars(select(Invitation)).one()
    assert (row.status, row.lease_token, row.last_error) == ("sent", None, None)
    assert simulator.requests() == 1


def test_a_superseded_holder_s_outcome_is_ignored_once_another_has_sent(
    app: Flask, ctx: Flask, simulator: Simulator
) -> None:
    with requests.Session() as session:
        _, reports, thread, second = superseded_while_sending(app, simulator, session)
        with app.app_context():
            assert second.run_pass().sent == 1  # B takes it over and sends it
            db.session.remove()
        sent_by_b = db.session.scalars(select(Invitation.sent_at)).one()
        db.session.remove()
        simulator.release()
        thread.join(timeout=60)
        (report,) = reports
        assert (report.sent, report.superseded) == (0, 1)  # A's outcome is not written
    row = db.session.scalars(select(Invitation)).one()
    assert (row.status, row.sent_at, row.attempts) == ("sent", sent_by_b, 2)
    assert len(simulator.messages()) == 1  # the same Idempotency-Key: the gateway kept one
