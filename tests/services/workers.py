"""Code run in other processes by the concurrency tests.

The processes are forked from a fresh server process (multiprocessing's `forkserver`) that
imported this module first; importing it loads all of the app's code, so each process starts
with it instead of spending a second or two importing it again.
"""

from __future__ import annotations

import multiprocessing
from datetime import datetime
from multiprocessing.context import ForkServerContext
from multiprocessing.synchronize import Barrier
from typing import Any

from cabinet import create_app
from cabinet.clock import SettableClock


def _load_the_apps_code() -> None:
    # create_app imports the blueprints, models and commands it registers.
    create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40})


_load_the_apps_code()


def processes() -> ForkServerContext:
    """Processes with nothing of the test's own (threads, connections), started fast."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload([__name__])
    return context


def apply_code(
    database_url: str, client_id: int, code: str | None, barrier: Barrier, out: Any
) -> None:
    """A separate process with its own app and connection: wait for the others, then join."""
    from cabinet.errors import ProgramRefusal
    from cabinet.referrals import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x" * 40})
    with app.app_context():
        barrier.wait(timeout=60)
        try:
            services.join(app.extensions["context"], client_id, code)
        except ProgramRefusal as refusal:
            out.put((client_id, type(refusal).__name__))
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            out.put((client_id, repr(exc)))
        else:
            out.put((client_id, "ok"))


def write_and_read(
    database_url: str,
    cache_url: str,
    prefix: str,
    secret_key: str,
    cookie: str,
    now: datetime,
    member_id: int,
    referee_ids: list[int],
    rounds: int,
    seed: int,
    barrier: Barrier,
    out: Any,
) -> None:
    """One of two processes sharing a member's session and the Redis fragment cache: each round
    a write the member sees (its notice switch, a referee's name), then a read through the
    cache, checked against a fresh render made before and after it with nothing kept
    (tests/services/test_fragment_cache_processes.py)."""
    import random
    import re

    from cabinet.clients.models import Client
    from cabinet.db import db, transaction
    from cabinet.invitations import notices
    from cabinet.stamps import of_client

    tokens = re.compile(r'(name="csrf_token"(?: type="hidden")? value="|"X-CSRFToken": ")[^"]+')
    base = {"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": secret_key}
    shared = create_app(
        {**base, "FRAGMENT_CACHE_URL": cache_url, "RATELIMIT_KEY_PREFIX": prefix},
        clock=SettableClock(now),
    )
    fresh = create_app(
        {**base, "FRAGMENT_CACHE_URL": "memory://", "FRAGMENT_CACHE_BYTES": 0},
        clock=SettableClock(now),
    )
    browsers = []
    for app in (shared, fresh):
        browser = app.test_client()
        browser.set_cookie("cabinet_session", cookie)
        browsers.append(browser)
    through_cache, renderer = browsers
    pick = random.Random(seed)
    urls = (
        ("/referral", {}),
        ("/referral?tab=clients", {"HX-Request": "true"}),
        ("/referral?tab=history", {"HX-Request": "true"}),
    )
    report = {"checked": 0, "inconclusive": 0, "kept": 0, "stale": [], "not_modified": 0}
    tags: dict[str, tuple[str, str]] = {}

    def stamps() -> tuple[int | None, int | None]:
        with fresh.app_context():
            seen = of_client(member_id)
            db.session.remove()
        return seen

    def text(response: Any) -> str:
        assert response.status_code == 200, response.status_code
        return tokens.sub(r"\1…", response.get_data(as_text=True))

    barrier.wait(timeout=60)
    try:
        for n in range(rounds):
            with shared.app_context():
                if pick.random() < 0.5:
                    notices.set_switch(member_id, pick.random() < 0.5)
                else:
                    with transaction():
                        referee = db.session.get(Client, pick.choice(referee_ids))
                        referee.name = f"Клиент {seed}-{n}"
                db.session.remove()
            for url, headers in urls:
                stamps_before = stamps()
                before = text(renderer.get(url, headers=headers))
                held = tags.get(url)
                asked = {**headers, "If-None-Match": held[0]} if held else headers
                response = through_cache.get(url, headers=asked)
                after = text(renderer.get(url, headers=headers))
                stamps_after = stamps()
                if response.status_code == 304:
                    report["not_modified"] += 1
                    assert held is not None
                    body = held[1]
                else:
                    body = text(response)
                    if "ETag" in response.headers:
                        tags[url] = (response.headers["ETag"], body)
                if before != after or stamps_before != stamps_after:
                    # The other process wrote meanwhile: maybe twice, a switch turned on and
                    # off again, which the texts alone would not tell.
                    report["inconclusive"] += 1
                    continue
                report["checked"] += 1
                if body != before:
                    report["stale"].append((n, url))
        with shared.app_context():
            from cabinet.conditional import RedisStore, store

            kept = store()
            assert isinstance(kept, RedisStore)
            report["kept"] = len(kept.redis.keys(kept.prefix + "*"))
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        report["error"] = repr(exc)
    out.put(report)
