"""The demo time machine's clock: real time plus an offset a manager moves.

In demo mode the app's clock is `DemoClock`: the system time plus an offset kept in the
database, so the web server and the delivery worker (another process) read the same time.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.clock import Clock, SystemClock
from cabinet.db import db
from cabinet.errors import ProgramRefusal


class NotInDemoMode(ProgramRefusal):
    message = "Машина времени и сценарии работают только в демо-режиме (DEMO_MODE=1)."


class DemoClockSetting(db.Model):  # type: ignore[name-defined,misc]
    """The demo time machine's offset, shared by the web server and the worker processes."""

    __tablename__ = "demo_clock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(default=0.0)


class DemoClock:
    """Real time plus the time machine's offset (read at most once a second)."""

    def __init__(self, real: Clock | None = None, cache_seconds: float = 1.0) -> None:
        self.real: Clock = real or SystemClock()
        self.cache_seconds = cache_seconds
        self._offset = 0.0
        self._read_at = float("-inf")
        self._lock = threading.Lock()

    def now(self) -> datetime:
        return self.real.now() + timedelta(seconds=self.offset())

    def offset(self) -> float:
        with self._lock:
            if time.monotonic() - self._read_at >= self.cache_seconds:
                self._offset = _stored_offset()
                self._read_at = time.monotonic()
            return self._offset

    def store_offset(self, offset: timedelta) -> None:
        """Put a new offset into the caller's transaction (`forget()` once it is committed)."""
        offset_seconds = offset.total_seconds()
        setting = db.session.get(DemoClockSetting, 1)
        if setting is None:
            db.session.add(DemoClockSetting(id=1, offset_seconds=offset_seconds))
        else:
            setting.offset_seconds = offset_seconds

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
