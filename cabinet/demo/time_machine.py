"""The demo time machine: where each button lands, from the time the cabinet shows, and the
move itself (one transaction, with its audit entry)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Literal

from cabinet.audit import services as audit
from cabinet.clock import Context
from cabinet.db import transaction
from cabinet.demo.clock import DemoClock, NotInDemoMode
from cabinet.referrals.rules import add_months

Jump = Literal["day", "week", "month", "date", "now"]

# The buttons, in the order they are shown; «date» and «now» have their own controls.
JUMP_BUTTONS: dict[Jump, str] = {"day": "+1 день", "week": "+1 неделя", "month": "+1 месяц"}
JUMPS: tuple[Jump, ...] = ("day", "week", "month", "date", "now")


def target(
    jump: Jump, shown_now: datetime, real_now: datetime, zone: tzinfo, day: date | None = None
) -> datetime:
    """Where a jump lands, from the time the cabinet shows now («now» is the real time)."""
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
    return real_now


def move_clock(context: Context, manager_id: int, jump: Jump, day: date | None = None) -> datetime:
    """Move the demo clock; returns the time the cabinet now shows."""
    clock = context.clock
    if not isinstance(clock, DemoClock):
        raise NotInDemoMode()
    shown, real = clock.now(), clock.real.now()
    landing = target(jump, shown, real, context.timezone, day)
    with transaction():
        clock.store_offset(landing - real)
        audit.record(
            shown,
            manager_id,
            "time_machine",
            details={"jump": jump, "from": shown.isoformat(), "to": landing.isoformat()},
        )
    clock.forget()
    return clock.now()
