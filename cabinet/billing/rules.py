"""Invoice preview rules: pure functions over plain values (no Flask, no database).

Money is integer kopecks. The discount applies to every service except SMS packages.

**Split by days.** A line with a period (first and last calendar day, both included, in the
cabinet's zone) is billed day by day: a day carries the discount in force when the day ends,
that is, the grants that started before the next midnight and are still running at it
(`starts_at < next midnight <= ends_at`). So the day a code is activated already carries the new
discount («в день, когда ваш друг регистрируется … вы получите скидку»), the day a grant ends
(or is closed by the next level) carries only what follows it, and a grant of N days covers N
days. Runs of consecutive days with the same percent form the line's segments.

**Rounding.** Every division is rounded half-up to the kopeck (0.5 kopeck goes up). A segment's
amount is the line's amount × (days up to and including the segment) / (days in the period),
rounded, minus the same for the days before it: the segments' amounts add up to the line's
amount exactly. A segment's discount is its amount × percent / 100, rounded. A line's discount
is the sum of its segments' discounts; totals are sums.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Final, Literal, get_args

from cabinet.referrals.rules import Grant, TermsAt, discount_at

LineKind = Literal["service", "sms_package"]
LINE_KINDS: tuple[str, ...] = get_args(LineKind)
EXCLUDED_KINDS: tuple[LineKind, ...] = ("sms_package",)
ROUNDING: Final = "half_up"


@dataclass(frozen=True)
class Period:
    """Calendar days `first`..`last`, both included, in the cabinet's zone."""

    first: date
    last: date

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def each_day(self) -> Iterable[date]:
        return (self.first + timedelta(days=i) for i in range(self.days))


@dataclass(frozen=True)
class Line:
    kind: LineKind
    amount: int  # kopecks, >= 0
    period: Period | None = None
    description: str | None = None


@dataclass(frozen=True)
class Segment:
    """Part of a line billed at one percent; `period` is None for a line without a period."""

    period: Period | None
    percent: int
    amount: int
    discount: int

    @property
    def total(self) -> int:
        return self.amount - self.discount


@dataclass(frozen=True)
class PricedLine:
    line: Line
    excluded: bool  # an SMS package: never discounted
    segments: tuple[Segment, ...]

    @property
    def discount(self) -> int:
        return sum(s.discount for s in self.segments)

    @property
    def total(self) -> int:
        return self.line.amount - self.discount


@dataclass(frozen=True)
class Invoice:
    lines: tuple[PricedLine, ...]

    @property
    def amount(self) -> int:
        return sum(p.line.amount for p in self.lines)

    @property
    def discount(self) -> int:
        return sum(p.discount for p in self.lines)

    @property
    def total(self) -> int:
        return self.amount - self.discount


def half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up (both non-negative, denominator > 0)."""
    if numerator < 0 or denominator <= 0:
        raise ValueError("half_up takes a non-negative numerator and a positive denominator")
    return (2 * numerator + denominator) // (2 * denominator)


def midnight(day: date, zone: tzinfo) -> datetime:
    """The moment `day` starts on the wall clock of `zone`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def day_percent(grants: Iterable[Grant], day: date, zone: tzinfo, terms_at: TermsAt) -> int:
    """The discount a calendar day carries: the grants in force when the day ends, at most the
    cap of the terms in force then."""
    boundary = midnight(day + timedelta(days=1), zone)
    percent = sum(g.percent for g in grants if g.starts_at < boundary <= g.ends_at)
    return min(terms_at(boundary).max_discount_percent, percent)


def split(
    period: Period, grants: Sequence[Grant], zone: tzinfo, terms_at: TermsAt
) -> list[tuple[Period, int]]:
    """The period's runs of consecutive days at one percent, in order."""
    runs: list[tuple[Period, int]] = []
    for day in period.each_day():
        percent = day_percent(grants, day, zone, terms_at)
        if runs and runs[-1][1] == percent:
            runs[-1] = (Period(runs[-1][0].first, day), percent)
        else:
            runs.append((Period(day, day), percent))
    return runs


def price_line(
    line: Line, grants: Sequence[Grant], at: datetime, zone: tzinfo, terms_at: TermsAt
) -> PricedLine:
    """One line of the invoice: split by days (or at `at` without a period), discounted;
    `terms_at` gives the terms in force at a moment (their cap bounds the discount)."""
    if line.amount < 0:
        raise ValueError("an amount is a non-negative number of kopecks")
    excluded = line.kind in EXCLUDED_KINDS
    if line.period is None:
        percent = 0 if excluded else discount_at(grants, at, terms_at(at))
        segment = Segment(None, percent, line.amount, half_up(line.amount * percent, 100))
        return PricedLine(line, excluded, (segment,))
    runs = [(line.period, 0)] if excluded else split(line.period, grants, zone, terms_at)
    total_days = line.period.days
    segments: list[Segment] = []
    days_so_far = 0
    billed_so_far = 0
    for run, percent in runs:
        days_so_far += run.days
        billed = half_up(line.amount * days_so_far, total_days)
        amount = billed - billed_so_far
        billed_so_far = billed
        segments.append(Segment(run, percent, amount, half_up(amount * percent, 100)))
    return PricedLine(line, excluded, tuple(segments))


def price(
    lines: Iterable[Line], grants: Sequence[Grant], at: datetime, zone: tzinfo, terms_at: TermsAt
) -> Invoice:
    """The invoice preview: every line priced against the same grants."""
    return Invoice(tuple(price_line(line, grants, at, zone, terms_at) for line in lines))
