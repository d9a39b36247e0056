"""A worker killed in the middle of a POST loses nothing: its lease runs out, another worker
sends the event again under the same webhook-id, and the receiver processes it once."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from cabinet.clients.services import NewClient, provision_client
from cabinet.db import db
from cabinet.webhooks import services
from cabinet.webhooks.models import Delivery
from tests.conftest import live_program, msk
from tests.webhooks.receiver import receiving

ROOT = Path(__file__).resolve().parents[2]


def start_worker(database_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "webhooks", "deliver", "--loop", "--idle", "0.05"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "k" * 40,
            "WEBHOOK_LEASE_SECONDS": "3",
            "WEBHOOK_DEADLINE_SECONDS": "2",
            "WEBHOOK_READ_TIMEOUT": "2",
            "WEBHOOK_ALLOW_HTTP_LOOPBACK": "1",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_until(condition: Callable[[], bool], worker: subprocess.Popen[bytes], what: str) -> None:
    """Poll until `condition()` holds; fail when the worker dies or nothing moves for a minute."""
    deadline = time.monotonic() + 60
    while not condition():
        if worker.poll() is not None:
            out, err = worker.communicate()
            raise AssertionError(f"the worker exited: {(out + err).decode()}")
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_worker_s_event_is_sent_again_under_the_same_id(
    app: Flask, ctx: Flask, database_url: str
) -> None:
    def held_first(_msg_id: str, _event_id: int, attempt: int) -> int:
        return 0 if attempt == 1 else 200  # the first POST hangs until the worker is killed

    context = live_program(app)
    with receiving(held_first) as receiver:
        added = services.add_subscriber(context, None, receiver.url, "", True)
        receiver.secret = added.secret
        provision_client(context, NewClient(7, "ТехСтрой", msk("2023-03-20 09:00")))
        db.session.remove()

        first = start_worker(database_url)
        try:
            wait_until(lambda: len(receiver.received) == 1, first, "the first POST")
        finally:
            first.kill()  # SIGKILL: no outcome stored, the lease left to run out
            first.communicate(timeout=30)
        receiver.release.set()

        second = start_worker(database_url)
        try:
            wait_until(lambda: len(receiver.processed) == 1, second, "the event sent again")
        finally:
            second.terminate()
            second.communicate(timeout=30)

        ((msg_id, event_id),) = receiver.processed.items()
        assert msg_id == f"msg_{added.id}_{event_id}"
        assert [r.msg_id for r in receiver.received] == [msg_id, msg_id]
        assert all(r.verified for r in receiver.received)
    row = db.session.scalars(select(Delivery)).one()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)
