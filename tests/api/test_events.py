"""GET /api/v1/events: every change's events, in commit order, gapless ids, a cursor."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

import cabinet.events
from cabinet.api import tokens
from cabinet.clock import Context
from cabinet.db import db
from cabinet.errors import ProgramRefusal
from cabinet.referrals import services
from tests.api.conftest import Api, assert_problem
from tests.conftest import live_program
from tests.factories import make_client


def _all(api: Api, limit: int = 500) -> list[dict[str, Any]]:
    return list(api.get(f"/api/v1/events?limit={limit}").get_json()["events"])


def test_the_worked_example_as_events(api: Api, worked_example: str) -> None:
    events = _all(api)
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    kinds = [(e["kind"], e["client_id"]) for e in events]
    assert kinds == [
        ("client_joined", 400),
        ("client_joined", 408),
        ("referral_activated", 400),
        ("grant_issued", 408),
        ("grant_issued", 400),
        ("client_joined", 401),
        ("referral_activated", 400),
        ("grant_issued", 401),
        ("grant_closed", 400),
        ("grant_issued", 400),
        ("client_joined", 407),
        ("referral_activated", 400),
        ("grant_issued", 407),
        ("grant_closed", 400),
        ("grant_issued", 400),
        ("sms_pack_granted", 400),
    ]
    closed_40 = events[13]
    assert closed_40["occurred_at"] == "2023-03-31T15:18:00+03:00"
    assert {k: closed_40["data"][k] for k in ("percent", "level", "starts_at", "ends_at")} == {
        "percent": 40,
        "level": 2,
        "starts_at": "2023-03-31T10:30:00+03:00",
        "ends_at": "2023-03-31T15:18:00+03:00",
    }
    assert events[-1]["data"]["size"] == 1200
    assert events[2]["data"]["referee_id"] == 408 and events[1]["data"]["referrer_id"] == 400


def test_the_cursor_pages_through_without_gaps_or_repeats(api: Api, worked_example: str) -> None:
    seen: list[int] = []
    after = 0
    while True:
        page = api.get(f"/api/v1/events?after={after}&limit=5").get_json()
        seen += [e["id"] for e in page["events"]]
        after = page["next_after"]
        if not page["has_more"]:
            break
    assert seen == list(range(1, 17))
    empty = api.get(f"/api/v1/events?after={after}").get_json()
    assert empty == {"events": [], "next_after": 16, "has_more": False}


def test_a_refused_change_writes_no_event(
    app: Flask, api: Api, worked_example: str, context: Context
) -> None:
    before = len(_all(api))
    with app.app_context(), pytest.raises(ProgramRefusal):
        services.join(context, 408, worked_example)  # a code applied twice
    assert len(_all(api)) == before


def test_bad_cursor_or_limit_is_400(api: Api) -> None:
    for query in ("after=-1", "after=x", "after=2147483648", "limit=0", "limit=501", "limit=1.5"):
        body = assert_problem(api.get(f"/api/v1/events?{query}"), 400, "invalid-parameters")
        assert body["errors"][0]["parameter"] == query.split("=")[0]


WRITERS = 6  # referees applying one referrer's code (serialised by the referrer's row lock)
JOINERS = 6  # clients joining without a code (nothing but the event lock orders them)


def test_a_consumer_sees_every_event_once_while_referrals_happen_concurrently(
    app: Flask, database: None, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writers in threads apply one referrer's code or join on their own; a consumer follows
    the feed meanwhile.

    Each writer pauses a little after recording its events and before committing, which is
    exactly when an id drawn from a plain sequence would become visible out of order (and a
    consumer past it would never see the smaller one). The event lock must make that
    impossible: the consumer must see ids 1, 2, 3, … each once, and the referrer's grants in
    ladder order."""
    live = live_program(app)
    now = datetime.now(UTC)
    with app.app_context():
        token = tokens.issue(context, "sync").token
        make_client(1, registered_at=now - timedelta(days=40))
        code = services.join(live, 1).code
        for i in range(WRITERS):
            make_client(100 + i, registered_at=now - timedelta(days=1))
        for i in range(JOINERS):
            make_client(200 + i, registered_at=now - timedelta(days=1))

    record = cabinet.events.record
    lag = random.Random(7)  # noqa: S311 - jitter, not a secret

    def slow_record(*args: Any, **kwargs: Any) -> Any:
        event = record(*args, **kwargs)
        time.sleep(lag.uniform(0, 0.01))  # still inside the writer's transaction
        return event

    monkeypatch.setattr(cabinet.events, "record", slow_record)

    writers_done = threading.Event()
    failures: list[str] = []
    barrier = threading.Barrier(WRITERS + JOINERS)

    def write(client_id: int, with_code: bool) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                services.join(live, client_id, code if with_code else None)
            except Exception as exc:  # noqa: BLE001 - the assertion below shows it
                failures.append(repr(exc))
            finally:
                db.session.remove()

    seen: list[dict[str, Any]] = []

    def consume() -> None:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        after = 0
        drained_after_writers = False
        while not drained_after_writers:
            finished = writers_done.is_set()  # read before the request: then drain once more
            page = client.get(f"/api/v1/events?after={after}&limit=3", headers=headers)
            body = page.get_json()
            seen.extend(body["events"])
            after = body["next_after"]
            drained_after_writers = finished and not body["has_more"]
            # A consumer polls; one that never pauses would hold the GIL against the writers
            # (each of their statements waits for it), and hold their locks open for seconds.
            time.sleep(0.002)

    consumer = threading.Thread(target=consume)
    threads = [threading.Thread(target=write, args=(100 + i, True)) for i in range(WRITERS)]
    threads += [threading.Thread(target=write, args=(200 + i, False)) for i in range(JOINERS)]
    consumer.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    writers_done.set()
    consumer.join(timeout=120)

    assert failures == []
    ids = [e["id"] for e in seen]
    # client_joined(1), then per activation: joined, activated, 2 grants, and from the 2nd on
    # a closed grant; packs at the 3rd and 5th.
    expected = 1 + WRITERS * 4 + (WRITERS - 1) + 2 + JOINERS
    assert ids == list(range(1, expected + 1))
    ladder = [
        e["data"]["level"]
        for e in seen
        if e["kind"] == "grant_issued" and e["data"]["reason"] == "referrer"
    ]
    assert ladder == [min(i + 1, 5) for i in range(WRITERS)]
