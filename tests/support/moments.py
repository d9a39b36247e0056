"""Moments as the tests write them: Moscow wall-clock time, stored as aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


def msk(text: str) -> datetime:
    """A Moscow wall-clock moment, `2023-03-31 10:03`, as aware UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=MOSCOW).astimezone(UTC)
