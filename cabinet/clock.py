"""The one place the cabinet reads time and randomness from."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that reads one moment: `--at` in the CLI, and tests."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment


@dataclass
class SettableClock:
    """A clock that stands still until moved (tests drive the app's time with it)."""

    moment: datetime

    def now(self) -> datetime:
        return self.moment

    def set(self, moment: datetime) -> None:
        self.moment = moment


@dataclass(frozen=True)
class Context:
    """The request context: what every service needs from the outside world (the clock, the
    cabinet's time zone, the random source), handed over in one piece. A web request, a CLI
    command and a worker each hold one; `at` freezes its time for `--at` and the demo."""

    clock: Clock
    timezone: ZoneInfo
    random_bytes: Callable[[int], bytes] = secrets.token_bytes

    def new_key(self) -> str:
        """A random UUID (message keys, leases), from the context's random source."""
        return str(uuid.UUID(bytes=self.random_bytes(16), version=4))

    def at(self, moment: datetime | None) -> Context:
        """The same context, with time frozen at `moment` (when given)."""
        if moment is None:
            return self
        return Context(FixedClock(moment), self.timezone, self.random_bytes)


def current_context() -> Context:
    """The app's context (set once in the factory): its clock, zone and random source."""
    context: Context = current_app.extensions["context"]
    return context
