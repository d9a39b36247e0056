"""Moments as people read and write them: stored in UTC, shown in the cabinet's zone."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo

# Every moment a person types (the panel, the API, the CLI) lies within these years: the rules
# add up to 120 months to a moment, and a year past 9999 is no date at all.
YEAR_MIN, YEAR_MAX = 1970, 2100


def in_bounds(moment: datetime) -> bool:
    """The moment's year, as written and in UTC, is within YEAR_MIN…YEAR_MAX. (May raise
    OverflowError for a moment at the very end of year 9999 that UTC cannot hold.)"""
    years = {moment.year} if moment.tzinfo is None else {moment.year, moment.astimezone(UTC).year}
    return all(YEAR_MIN <= year <= YEAR_MAX for year in years)


class MomentOutOfRange(ValueError):
    """A moment read, but its year is outside YEAR_MIN…YEAR_MAX."""


def parse_moment(text: str, zone: tzinfo) -> datetime:
    """ISO 8601, aware, in UTC; without an offset the moment is in `zone`. The one parser of
    moments people type (the panel, the API, the CLI). Raises ValueError, MomentOutOfRange for
    a year outside YEAR_MIN…YEAR_MAX."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        bounded = in_bounds(moment)  # the year as typed, and in UTC
    except OverflowError as error:  # 9999-12-31T23:59-01:00 has no UTC moment
        raise MomentOutOfRange(str(error)) from error
    if not bounded:
        raise MomentOutOfRange(f"year outside {YEAR_MIN}…{YEAR_MAX}")
    return moment.astimezone(UTC)


def show_moment(moment: datetime, zone: tzinfo) -> str:
    """`30.03.2023 15:47`, as the help page shows it."""
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")


def show_date(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%d.%m.%Y")


def iso_moment(moment: datetime, zone: tzinfo) -> str:
    """`2023-03-30T15:47:00+03:00`: ISO 8601 with the offset of `zone`."""
    return moment.astimezone(zone).isoformat()
