"""The fragment cache shared by processes never serves a stale page (cabinet/conditional.py):
two processes, each with its own app and connections, share one member's session and one Redis;
each writes what the member sees and reads the page through the cache in a loop, and every read
is checked against a fresh render (made before and after it, with nothing kept) — when the
member's stamps were the same before and after it: the other process may write twice meanwhile,
a switch turned on and off again, and the two renders alike would not tell. Run on
PostgreSQL with TEST_DATABASE_URL, as the suite's PostgreSQL leg does."""

from __future__ import annotations

import uuid

import pytest
import redis
from flask import Flask

from cabinet.clock import SettableClock
from tests.services import workers
from tests.web.conftest import Auth, referrer_with_referees

REDIS_URL = "redis://127.0.0.1:6379/12"
ROUNDS = 40


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_answers(), reason=f"no Redis at {REDIS_URL}")
def test_two_processes_writing_and_reading_never_see_a_stale_page(
    app: Flask, database: None, clock: SettableClock
) -> None:
    referrer_with_referees(app, referees=3)
    browser = app.test_client()
    Auth(browser).login("c400@example.ru")
    browser.get("/referral")  # the session's CSRF token
    cookie = browser.get_cookie("cabinet_session")
    assert cookie is not None
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    context = workers.processes()
    barrier = context.Barrier(2)
    out = context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    processes = [
        context.Process(
            target=workers.write_and_read,
            args=(
                url,
                REDIS_URL,
                prefix,
                app.config["SECRET_KEY"],
                cookie.value,
                clock.now(),  # the session ages on the app's clock: theirs stands at ours
                400,
                [408, 401, 407],
                ROUNDS,
                seed,
                barrier,
                out,
            ),
        )
        for seed in (1, 2)
    ]
    for process in processes:
        process.start()
    reports = [out.get(timeout=240) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    redis.Redis.from_url(REDIS_URL).delete(
        *(redis.Redis.from_url(REDIS_URL).keys(f"{prefix}:*") or [b"none"])
    )
    for report in reports:
        assert "error" not in report, report
        assert report["stale"] == [], report
    checked = sum(r["checked"] for r in reports)
    assert checked >= ROUNDS  # most reads are conclusive: the other process did not write then
    assert sum(r["not_modified"] for r in reports) > 0  # revalidation was exercised
    assert max(r["kept"] for r in reports) > 0  # and the shared store held pages
