"""Moments as people read and write them: stored in UTC, shown in the cabinet's zone."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """ISO 8601; without an offset the moment is in `zone`. Raises ValueError."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def show_moment(moment: datetime, zone: tzinfo) -> str:
    """`30.03.2023 15:47`, as the help page shows it."""
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def show_date(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%d.%m.%Y")


def iso_moment(moment: datetime, zone: tzinfo) -> str:
    """`2023-03-30T15:47:00+03:00`: ISO 8601 with the offset of `zone`."""
    return moment.astimezone(zone).isoformat()
