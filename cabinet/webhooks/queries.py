"""What the panel shows of webhooks: the subscribers and each one's delivery log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from cabinet.db import db
from cabinet.events.models import Event
from cabinet.webhooks import errors, rules
from cabinet.webhooks.models import Delivery, Subscriber


@dataclass(frozen=True)
class SubscriberLine:
    id: int
    url: str
    note: str
    created_at: datetime
    after: int
    delivered: int
    pending: int  # queued or being sent
    failed: int


@dataclass(frozen=True)
class LogLine:
    event_id: int
    kind: str | None
    msg_id: str
    status: str
    attempts: int
    replays: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None  # only while a retry is due
    delivered_at: datetime | None


def subscribers() -> list[SubscriberLine]:
    """The active subscribers, oldest first, with their deliveries counted by status."""
    counts = (
        select(
            Delivery.subscriber_id,
            func.sum(case((Delivery.status == "delivered", 1), else_=0)).label("delivered"),
            func.sum(case((Delivery.status.in_(("queued", "sending")), 1), else_=0)).label(
                "pending"
            ),
            func.sum(case((Delivery.status == "failed", 1), else_=0)).label("failed"),
        )
        .group_by(Delivery.subscriber_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Subscriber, counts.c.delivered, counts.c.pending, counts.c.failed)
        .outerjoin(counts, counts.c.subscriber_id == Subscriber.id)
        .where(Subscriber.removed_at.is_(None))
        .order_by(Subscriber.id)
    ).tuples()
    return [
        SubscriberLine(
            s.id, s.url, s.note, s.created_at, s.after, int(d or 0), int(p or 0), int(f or 0)
        )
        for s, d, p, f in rows
    ]


def subscriber(subscriber_id: int) -> SubscriberLine:
    for line in subscribers():
        if line.id == subscriber_id:
            return line
    raise errors.SubscriberNotFound(subscriber_id)


def delivery_log(subscriber_id: int, limit: int = 100) -> list[LogLine]:
    """The subscriber's latest deliveries, newest event first."""
    rows = db.session.execute(
        select(Delivery, Event.kind)
        .outerjoin(Event, Event.id == Delivery.event_id)
        .where(Delivery.subscriber_id == subscriber_id)
        .order_by(Delivery.event_id.desc())
        .limit(limit)
    ).tuples()
    return [
        LogLine(
            event_id=d.event_id,
            kind=kind,
            msg_id=rules.message_id(d.subscriber_id, d.event_id),
            status=d.status,
            attempts=d.attempts,
            replays=d.replays,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            last_attempt_at=d.last_attempt_at,
            next_attempt_at=d.next_attempt_at if d.status in ("queued", "sending") else None,
            delivered_at=d.delivered_at,
        )
        for d, kind in rows
    ]
