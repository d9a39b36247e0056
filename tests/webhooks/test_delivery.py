"""The webhook worker against a real receiver that checks signatures and fails on purpose:
every event arrives (at least once, under one webhook-id per event per subscriber), retries
back off, the log tells what happened, a replay sends the same ids again."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from cabinet.backoff import Backoff
from cabinet.clients.services import NewClient, provision_client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.events.models import Event
from cabinet.webhooks import errors, queries, services
from cabinet.webhooks.delivery import PassReport, Sender, Worker
from cabinet.webhooks.models import Delivery
from cabinet.webhooks.settings import WebhookSettings
from tests.conftest import live_program, msk
from tests.webhooks.receiver import Receiver, receiving

DEADLINE = 0.5  # seconds: a receiver holding a request longer is a timeout


def fast_settings(app: Flask, **overrides: object) -> WebhookSettings:
    base: WebhookSettings = app.extensions["webhooks"]
    fast = dataclasses.replace(
        base,
        backoff=Backoff(base_seconds=0.001, max_seconds=0.01, max_attempts=6),
        deadline_seconds=DEADLINE,
        connect_timeout=DEADLINE,
        read_timeout=DEADLINE,
        lease_seconds=10,
    )
    return dataclasses.replace(fast, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def worker(ctx: Flask) -> Iterator[Worker]:
    with requests.Session() as session:
        settings = fast_settings(ctx)
        yield Worker(live_program(ctx), settings, Sender(session, settings))


def subscribe(context: Context, receiver: Receiver) -> int:
    added = services.add_subscriber(context, None, receiver.url, "биллинг", True)
    receiver.secret = added.secret
    return added.id


def drain(worker: Worker, passes: int = 200) -> list[PassReport]:
    """Passes until nothing is queued or being sent (`passes` is a guard against a hang)."""
    reports = []
    for _ in range(passes):
        reports.append(worker.run_pass(batch=50))
        waiting = db.session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.status.in_(("queued", "sending")))
        )
        db.session.rollback()
        if not waiting and reports[-1].queued == 0:
            return reports
    raise AssertionError(f"still waiting after {passes} passes: {reports[-1]}")


def make_client(context: Context, client_id: int) -> None:
    """A client provisioned as billing does it (`PUT /api/v1/clients/{id}`): one event."""
    provision_client(context, NewClient(client_id, f"Клиент {client_id}", msk("2023-03-20 09:00")))


def event_ids() -> list[int]:
    return list(db.session.scalars(select(Event.id).order_by(Event.id)))


def flaky(msg_id: str, event_id: int, attempt: int) -> int:
    """Event 1, 5, 9 …: a 500 first; 2, 6, 10 …: held past the deadline first; 3, 7, 11 …:
    503 twice; the rest: 200 at once."""
    kind = event_id % 4
    if kind == 1 and attempt == 1:
        return 500
    if kind == 2 and attempt == 1:
        return 0
    if kind == 3 and attempt <= 2:
        return 503
    return 200


def test_every_event_arrives_signed_under_one_id_despite_5xx_and_timeouts(
    ctx: Flask, worker: Worker
) -> None:
    with receiving(flaky) as receiver:
        subscriber = subscribe(worker.context, receiver)
        for n in range(1, 7):
            make_client(worker.context, n)  # each: an event «client_created»
        ids = event_ids()
        assert len(ids) >= 6

        drain(worker)

        # Nothing lost: every event processed once, under its own stable id.
        assert receiver.processed == {f"msg_{subscriber}_{e}": e for e in ids}
        assert all(r.verified for r in receiver.received)
        by_id = Counter(r.msg_id for r in receiver.received)
        for event_id in ids:
            expected = {0: 1, 1: 2, 2: 2, 3: 3}[event_id % 4]
            assert by_id[f"msg_{subscriber}_{event_id}"] == expected, event_id
        assert {r.answered for r in receiver.received} >= {0, 200, 500, 503}

    # The log: what a manager reads in the panel.
    log = {line.event_id: line for line in queries.delivery_log(subscriber)}
    assert set(log) == set(ids)
    for event_id, line in log.items():
        assert line.status == "delivered"
        assert line.last_status_code == 200
        assert line.attempts == {0: 1, 1: 2, 2: 2, 3: 3}[event_id % 4]
        assert line.next_attempt_at is None
        assert line.kind == "client_created"
    (summary,) = queries.subscribers()
    assert (summary.delivered, summary.pending, summary.failed) == (len(ids), 0, 0)


def test_a_receiver_that_keeps_failing_ends_failed_with_the_answer_logged_then_a_replay(
    ctx: Flask, worker: Worker
) -> None:
    down = True

    def outage(_msg_id: str, _event_id: int, _attempt: int) -> int:
        return 502 if down else 200

    with receiving(outage) as receiver:
        subscriber = subscribe(worker.context, receiver)
        make_client(worker.context, 1)
        make_client(worker.context, 2)
        ids = event_ids()
        drain(worker)

        log = queries.delivery_log(subscriber)
        assert [line.status for line in log] == ["failed"] * len(ids)
        assert {line.attempts for line in log} == {6}
        assert {line.last_status_code for line in log} == {502}
        assert {line.last_error for line in log} == {"HTTP 502"}
        assert receiver.processed == {}
        assert len(receiver.received) == 6 * len(ids)

        down = False
        assert services.replay(worker.context, None, subscriber, ids[0]) == len(ids)
        drain(worker)

        assert receiver.processed == {f"msg_{subscriber}_{e}": e for e in ids}
        log = queries.delivery_log(subscriber)
        assert {(line.status, line.attempts, line.replays) for line in log} == {("delivered", 1, 1)}


def test_a_replay_sends_the_same_ids_again_and_events_from_before_the_subscriber(
    ctx: Flask, worker: Worker
) -> None:
    with receiving() as receiver:
        make_client(worker.context, 1)  # before the subscriber: not sent unless replayed
        subscriber = subscribe(worker.context, receiver)
        make_client(worker.context, 2)
        make_client(worker.context, 3)
        first, *later = event_ids()
        drain(worker)
        assert sorted(receiver.processed.values()) == later
        sent_before = Counter(r.msg_id for r in receiver.received)

        assert services.replay(worker.context, None, subscriber, later[1]) == len(later) - 1
        drain(worker)
        again = Counter(r.msg_id for r in receiver.received) - sent_before
        assert again == Counter(f"msg_{subscriber}_{e}" for e in later[1:])

        assert services.replay(worker.context, None, subscriber, first) == len(later) + 1
        drain(worker)
        assert receiver.processed[f"msg_{subscriber}_{first}"] == first
        assert all(r.verified for r in receiver.received)


def test_two_subscribers_each_with_its_secret_and_ids_and_a_removed_one_gets_nothing(
    ctx: Flask, worker: Worker
) -> None:
    with receiving() as one, receiving() as two:
        a = subscribe(worker.context, one)
        b = subscribe(worker.context, two)
        assert one.secret != two.secret
        make_client(worker.context, 1)
        drain(worker)
        (event_id,) = event_ids()
        assert one.processed == {f"msg_{a}_{event_id}": event_id}
        assert two.processed == {f"msg_{b}_{event_id}": event_id}

        assert services.remove_subscriber(worker.context, None, b) == two.url
        make_client(worker.context, 2)
        drain(worker)
        assert len(one.processed) == 2
        assert len(two.processed) == 1
        assert [line.id for line in queries.subscribers()] == [a]
        with pytest.raises(errors.SubscriberNotFound):
            services.replay(worker.context, None, b, event_id)


def test_a_replay_from_an_unknown_event_is_refused_and_changes_nothing(
    ctx: Flask, worker: Worker
) -> None:
    with receiving() as receiver:
        subscriber = subscribe(worker.context, receiver)
        make_client(worker.context, 1)
        drain(worker)
        before = queries.delivery_log(subscriber)
        with pytest.raises(errors.EventNotFound):
            services.replay(worker.context, None, subscriber, 999)
        assert queries.delivery_log(subscriber) == before
