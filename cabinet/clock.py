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
class Program:
    """What every service needs from the outside world, handed over in one piece."""

    clock: Clock
    timezone: ZoneInfo
    random_bytes: Callable[[int], bytes] = secrets.token_bytes

    def new_key(self) -> str:
        """A random UUID (message keys, leases), from the program's random source."""
        return str(uuid.UUID(bytes=self.random_bytes(16), version=4))

    def at(self, moment: datetime | None) -> Program:
        """The same program, with time frozen at `moment` (when given)."""
        if moment is None:
            return self
        return Program(FixedClock(moment), self.timezone, self.random_bytes)


def current_program() -> Program:
    """The app's program (set once in the factory): its clock, zone and random source."""
    program: Program = current_app.extensions["program"]
    return program
