"""Subscribers: add, remove, replay; and the fan-out of new events into their outbox.

Each service is one transaction. A manager's action (the panel) is written to the audit log;
the CLI's (`flask webhooks …`, run by an operator on the server) is not, as `flask
invitations requeue` is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, func, insert, select, update

from cabinet.audit import services as audit
from cabinet.auth.models import Manager
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.events.models import Event
from cabinet.webhooks import errors, rules
from cabinet.webhooks.models import Delivery, Subscriber


@dataclass(frozen=True)
class Added:
    id: int
    url: str
    secret: str  # shown once: at creation, never again
    after: int  # events after this id will be sent


def _check_right(manager_id: int | None) -> None:
    if manager_id is None:
        return
    manager = db.session.get(Manager, manager_id)
    if manager is None or not manager.manages_webhooks:
        raise errors.WebhooksRightMissing()


def add_subscriber(
    context: Context, manager_id: int | None, url: str, note: str, allow_http_loopback: bool
) -> Added:
    """A new subscriber, with a new secret; it receives the events recorded from now on
    (`replay` sends older ones)."""
    secret = rules.new_secret(context.random_bytes(rules.SECRET_BYTES))
    with transaction():
        _check_right(manager_id)  # first: without the right, the address is not even judged
        checked = rules.check_url(url, allow_http_loopback)
        note = rules.check_note(note)
        now = context.clock.now()
        after = db.session.scalar(select(func.max(Event.id))) or 0
        row = Subscriber(url=checked, secret=secret, note=note, created_at=now, after=after)
        db.session.add(row)
        db.session.flush()
        if manager_id is not None:
            audit.record(
                now, manager_id, "webhook_added", details={"subscriber": row.id, "url": checked}
            )
        added = Added(row.id, checked, secret, after)
    return added


def remove_subscriber(context: Context, manager_id: int | None, subscriber_id: int) -> str:
    """Stop sending to a subscriber (its log stays); returns its URL."""
    with transaction():
        _check_right(manager_id)
        row = _active(subscriber_id)
        now = context.clock.now()
        row.removed_at = now
        if manager_id is not None:
            audit.record(
                now, manager_id, "webhook_removed", details={"subscriber": row.id, "url": row.url}
            )
        url = row.url
    return url


def replay(context: Context, manager_id: int | None, subscriber_id: int, from_event_id: int) -> int:
    """Send the subscriber every event from `from_event_id` on again (up to those already
    put in its outbox; later ones come anyway), under the same `webhook-id`s: deliveries that
    exist go back in the queue, due now, with their attempts counted afresh; the events it
    never had get a delivery. Returns how many deliveries were queued."""
    with transaction():
        _check_right(manager_id)
        row = _active(subscriber_id, lock=True)
        if db.session.get(Event, from_event_id) is None:
            raise errors.EventNotFound(from_event_id)
        now = context.clock.now()
        result = db.session.execute(
            update(Delivery)
            .where(
                Delivery.subscriber_id == row.id,
                Delivery.event_id >= from_event_id,
                Delivery.event_id <= row.after,
            )
            .values(
                status="queued",
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                lease_token=None,
                replays=Delivery.replays + 1,
            )
            .execution_options(synchronize_session=False)
        )
        requeued = cast(CursorResult[Any], result).rowcount
        have = select(Delivery.event_id).where(Delivery.subscriber_id == row.id)
        missing = list(
            db.session.scalars(
                select(Event.id)
                .where(Event.id >= from_event_id, Event.id <= row.after, Event.id.not_in(have))
                .order_by(Event.id)
            )
        )
        _queue(row.id, missing, context)
        if manager_id is not None:
            audit.record(
                now,
                manager_id,
                "webhook_replayed",
                details={"subscriber": row.id, "from_event": from_event_id},
            )
    return int(requeued or 0) + len(missing)


def fan_out(context: Context, batch: int = 500) -> int:
    """Put the events recorded since each active subscriber's cursor in its outbox (up to
    `batch` a subscriber) and move the cursor on, in one transaction. The subscriber's row is
    locked (SKIP LOCKED: a second worker leaves it to the first); the unique (subscriber,
    event) pair keeps one delivery per event even so."""
    newest = db.session.scalar(select(func.max(Event.id))) or 0
    behind = db.session.scalar(
        select(func.count())
        .select_from(Subscriber)
        .where(Subscriber.removed_at.is_(None), Subscriber.after < newest)
    )
    db.session.rollback()  # a read only: no write lock taken when nothing is new
    if not behind:
        return 0
    queued = 0
    with transaction():
        subscribers = list(
            db.session.scalars(
                select(Subscriber)
                .where(Subscriber.removed_at.is_(None))
                .order_by(Subscriber.id)
                .with_for_update(skip_locked=True)
            )
        )
        for subscriber in subscribers:
            ids = list(
                db.session.scalars(
                    select(Event.id)
                    .where(Event.id > subscriber.after)
                    .order_by(Event.id)
                    .limit(batch)
                )
            )
            if ids:
                _queue(subscriber.id, ids, context)
                subscriber.after = ids[-1]
                queued += len(ids)
        if not queued:
            db.session.rollback()
    return queued


def _queue(subscriber_id: int, event_ids: list[int], context: Context) -> None:
    if not event_ids:
        return
    now = context.clock.now()
    db.session.execute(
        insert(Delivery),
        [
            {
                "subscriber_id": subscriber_id,
                "event_id": event_id,
                "status": "queued",
                "attempts": 0,
                "replays": 0,
                "created_at": now,
                "next_attempt_at": now,
            }
            for event_id in event_ids
        ],
    )


def _active(subscriber_id: int, lock: bool = False) -> Subscriber:
    stmt = select(Subscriber).where(Subscriber.id == subscriber_id, Subscriber.removed_at.is_(None))
    row = db.session.scalars(stmt.with_for_update() if lock else stmt).first()
    if row is None:
        raise errors.SubscriberNotFound(subscriber_id)
    return row
