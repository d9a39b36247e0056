"""Reading the feed: events after a cursor, in id (= commit) order."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from cabinet.db import db
from cabinet.events.models import Event


@dataclass(frozen=True)
class FeedPage:
    events: tuple[Event, ...]
    next_after: int  # the id of the last event returned, or `after` when there was none
    has_more: bool


def feed(after: int, limit: int) -> FeedPage:
    """Up to `limit` events with an id greater than `after`, oldest first (one statement)."""
    stmt = select(Event).where(Event.id > after).order_by(Event.id).limit(limit + 1)
    rows = list(db.session.scalars(stmt))
    page = tuple(rows[:limit])
    return FeedPage(page, page[-1].id if page else after, len(rows) > limit)
