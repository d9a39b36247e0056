"""Exactly once under concurrency, with real threads and real processes.

On PostgreSQL these are concurrent sessions taking row locks; on SQLite, several processes
writing one file through WAL and BEGIN IMMEDIATE. CONCURRENCY_ROUNDS repeats each scenario.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from cabinet.clock import Context
from cabinet.db import db
from cabinet.errors import ProgramRefusal
from cabinet.referrals import queries, services
from cabinet.referrals.errors import CodeAlreadyApplied, CodeCycle
from cabinet.referrals.rules import HELP_PAGE_TERMS
from tests.conftest import live_program
from tests.factories import make_client
from tests.services import workers

LADDER = HELP_PAGE_TERMS.ladder  # version 1: the help page's terms

ROUNDS = int(os.environ.get("CONCURRENCY_ROUNDS", "2"))
REFEREES = 10


def _setup_referrer_and_referees(app: Flask, context: Context, n: int) -> str:
    now = datetime.now(UTC)
    make_client(1, registered_at=now - timedelta(days=40))
    code = services.join(context, 1).code
    for i in range(n):
        make_client(100 + i, registered_at=now - timedelta(days=1))
    return code


def _in_threads(app: Flask, jobs: list[Callable[[], object]]) -> list[str]:
    barrier = threading.Barrier(len(jobs))
    outcomes: list[str] = [""] * len(jobs)

    def run(index: int, job: Callable[[], object]) -> None:
        with app.app_context():
            barrier.wait(timeout=30)
            try:
                job()
                outcomes[index] = "ok"
            except ProgramRefusal as refusal:
                outcomes[index] = type(refusal).__name__
            except Exception as exc:  # noqa: BLE001 - the assertion below shows it
                outcomes[index] = repr(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _assert_ladder(referrer_id: int, referees: int) -> None:
    db.session.rollback()
    referred = queries.referred_clients(referrer_id)
    assert len(referred) == referees
    grants = [g for g in queries.history(referrer_id) if g.reason == "referrer"]
    expected_levels = [min(i + 1, len(LADDER)) for i in range(referees)]
    assert [g.level for g in grants] == expected_levels
    assert [g.starts_at for g in grants] == [r.activated_at for r in referred]
    for earlier, later in zip(grants, grants[1:], strict=False):
        assert earlier.ends_at == later.starts_at  # closed exactly at the next activation
    assert sorted(p.size for p in queries.sms_packs(referrer_id)) == [1200, 3200]
    now = datetime.now(UTC)
    assert sum(g.as_rule().in_force(now) for g in grants) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_ten_referees_at_once_climb_the_ladder_in_activation_order(
    app: Flask, ctx: Flask, round_: int
) -> None:
    context = live_program(app)
    code = _setup_referrer_and_referees(app, context, REFEREES)
    jobs: list[Callable[[], object]] = [
        (lambda cid=100 + i: services.join(context, cid, code)) for i in range(REFEREES)
    ]
    assert _in_threads(app, jobs) == ["ok"] * REFEREES
    _assert_ladder(1, REFEREES)


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_the_same_referee_twice_at_once_succeeds_exactly_once(
    app: Flask, ctx: Flask, round_: int
) -> None:
    context = live_program(app)
    code = _setup_referrer_and_referees(app, context, 1)
    make_client(2, registered_at=datetime.now(UTC))
    other = services.join(context, 2).code
    jobs: list[Callable[[], object]] = [
        lambda: services.join(context, 100, code),
        lambda: services.join(context, 100, other),
        lambda: services.join(context, 100, code),
    ]
    outcomes = _in_threads(app, jobs)
    assert sorted(outcomes) == sorted(
        ["ok", CodeAlreadyApplied.__name__, CodeAlreadyApplied.__name__]
    )
    db.session.rollback()
    assert len(queries.history(100)) == 1


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_members_applying_each_others_codes_do_not_deadlock(
    app: Flask, ctx: Flask, round_: int
) -> None:
    context = live_program(app)
    now = datetime.now(UTC)
    make_client(1, registered_at=now)
    make_client(2, registered_at=now)
    code_1, code_2 = services.join(context, 1).code, services.join(context, 2).code
    outcomes = _in_threads(
        app, [lambda: services.join(context, 1, code_2), lambda: services.join(context, 2, code_1)]
    )
    assert sorted(outcomes) == sorted(["ok", CodeCycle.__name__])


@pytest.mark.slow
def test_ten_processes_at_once(app: Flask, ctx: Flask, database_url: str) -> None:
    context = live_program(app)
    code = _setup_referrer_and_referees(app, context, REFEREES)
    db.session.remove()
    start = workers.processes()
    barrier = start.Barrier(REFEREES)
    out = start.Queue()
    processes = [
        start.Process(target=workers.apply_code, args=(database_url, 100 + i, code, barrier, out))
        for i in range(REFEREES)
    ]
    for process in processes:
        process.start()
    results = dict(out.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    assert results == {100 + i: "ok" for i in range(REFEREES)}
    _assert_ladder(1, REFEREES)
