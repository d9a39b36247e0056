"""The demo time machine: the cabinet's clock, moved by a manager to show what time does.

In demo mode the app's clock is `DemoClock`: the system time plus an offset kept in the
database, so the web server and the delivery worker (another process) read the same time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from cabinet.db import db
from cabinet.manage.models import DemoClockSetting
from cabinet.referrals.rules import add_months

Jump = Literal["day", "week", "month", "date", "now"]


class DemoClock:
    """System time plus the time machine's offset (read at most once a second)."""

    def __init__(self, cache_seconds: float = 1.0) -> None:
        self.cache_seconds = cache_seconds
        self._offset = 0.0
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset())

    def offset(self) -> float:
        with self._lock:
            if time.monotonic() - self._read_at >= self.cache_seconds:
                self._offset = _stored_offset()
                self._read_at = time.monotonic()
            return self._offset

    def forget(self) -> None:
        """Read the offset afresh next time (after this process moved it)."""
        with self._lock:
            self._read_at = float("-inf")


def _stored_offset() -> float:
    # Its own connection: never part of (or blocked by) the caller's transaction.
    try:
        with db.engine.connect() as connection:
            value = connection.execute(
                select(DemoClockSetting.offset_seconds).where(DemoClockSetting.id == 1)
            ).scalar()
    except SQLAlchemyError:  # before `flask db upgrade` made the table
        return 0.0
    return float(value or 0.0)


def target(jump: Jump, shown_now: datetime, zone: tzinfo, day: date | None = None) -> datetime:
    """Where a jump lands, from the time the cabinet shows now."""
    if jump == "day":
        return shown_now + timedelta(days=1)
    if jump == "week":
        return shown_now + timedelta(days=7)
    if jump == "month":
        return add_months(shown_now, 1, zone)
    if jump == "date":
        if day is None:
            raise ValueError("a date is needed")
        local = shown_now.astimezone(zone)
        return datetime.combine(day, local.timetz().replace(tzinfo=None), zone).astimezone(UTC)
    return datetime.now(UTC)

