"""Writing events: inside the caller's transaction, serialised, so ids follow commit order.

The guarantee the feed gives (`GET /api/v1/events?after=ID`) is: once a consumer has seen the
event with id N, every event it will ever see has an id greater than N, and no event with a
smaller id can appear later. An autoincrement id does not give that on PostgreSQL (ids are drawn
when a row is inserted, transactions commit in another order, so id 8 may be visible while id 7
is still in flight and a consumer that moved past 8 would never see 7). So:

* record() first takes the *event lock*, held until the writing transaction ends: on PostgreSQL
  a transaction-level advisory lock (`pg_advisory_xact_lock`); on SQLite the database write lock
  every service already holds (`with transaction()`: BEGIN IMMEDIATE, one writer at a time);
* under the lock it reads `max(id)` and writes `max(id) + 1`; the transaction's next events
  take the next ids without asking again (the lock is still held), and are written together
  when the transaction flushes (one INSERT for an activation's five events).

A transaction that holds the lock commits (and becomes visible to every new snapshot) before the
lock passes to the next writer, which only then reads `max(id)`; so ids are assigned in commit
order, with no gaps (a rolled-back transaction's ids were never visible and are reused).

Callers record events last, after taking every row lock they need, so the event lock is held
only for the last statements before COMMIT and is always the last lock a writer takes (no
deadlock between the event lock and row locks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text

from cabinet.clock import Context
from cabinet.db import db
from cabinet.events.models import EVENT_KINDS, Event, EventKind
from cabinet.moments import iso_moment

# pg_advisory_xact_lock takes a bigint; any constant of our own will do ("cabinet-events").
EVENT_LOCK_KEY = 0x6361_6269_6E65_7401


def record(
    context: Context,
    kind: EventKind,
    *,
    client_id: int,
    at: datetime,
    data: Mapping[str, Any],
) -> Event:
    """Add an event to the caller's write transaction (started with `with transaction()`).

    Moments in `data` are written as ISO 8601 with the offset of the cabinet's zone."""
    if kind not in EVENT_KINDS:  # pragma: no cover - the Literal type keeps this out
        raise ValueError(f"unknown event kind {kind!r}")
    event = Event(
        id=_next_id(),
        kind=kind,
        client_id=client_id,
        occurred_at=at,
        data={key: _plain(value, context) for key, value in data.items()},
    )
    db.session.add(event)
    return event


def _next_id() -> int:
    """The lock and `max(id)` once per transaction; the transaction's later events count on."""
    session = db.session()
    transaction = session.get_transaction()
    held = session.info.get(_LAST_ID)
    if held is not None and held[0] is transaction:
        last: int = held[1]
    else:
        _take_event_lock()
        last = db.session.scalar(select(func.max(Event.id))) or 0
    session.info[_LAST_ID] = (transaction, last + 1)
    return last + 1


# The session's current transaction and the last event id it assigned.
_LAST_ID = "events_last_id"


def _take_event_lock() -> None:
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": EVENT_LOCK_KEY})
    elif dialect != "sqlite":  # pragma: no cover - the cabinet runs on these two
        raise RuntimeError(f"no event lock for {dialect}")
    # SQLite: the caller's BEGIN IMMEDIATE already made it the only writer.


def _plain(value: Any, context: Context) -> Any:
    if isinstance(value, datetime):
        return iso_moment(value, context.timezone)
    if isinstance(value, Mapping):
        return {key: _plain(item, context) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item, context) for item in value]
    return value
