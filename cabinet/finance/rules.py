"""Finance's monthly report: what counts in a month. Pure: values in, values out.

**The month** is a calendar month in the cabinet's zone (Europe/Moscow): from the 1st, 00:00,
to the 1st of the next month, 00:00.

**A day of a grant.** As on the invoice (`cabinet/billing/rules.py`), a day carries the grants
in force when it ends: those with `starts_at < next midnight <= ends_at`. A grant is **in force
in the month** when it carries at least one of its days.

**A discount-month** is one month's bill forgiven whole: a grant of `percent` carrying `d` of
the month's `D` days is worth `percent / 100 × d / D` discount-months in it (20 % for a whole
month: 0.2; 20 % for 15 days of a 30-day month: 0.1). When the grants a client holds on a day
add up to more than the cap of the terms in force at that day's end, each is scaled by
`cap / sum` that day, as the bill caps the sum.

**In roubles** where billing has reported a payment of the client by the month's end: a
discount-month is worth the client's last paid amount (the payment with the latest `paid_at`
before the month's end; a tie: the later one reported), rounded half-up to the kopeck per grant
and month. A client with no payment yet is counted in discount-months, apart.

**Referrals in the month** (revoked ones never count): *earned* — `qualified_at` in the month
(the referrer's reward started counting: at the activation, or at the referee's first payment);
*pending* at the month's end — activated before it, not qualified by then; *clawed back* —
`clawed_back_at` in the month. Each is booked under the version of the terms that governs the
referral (the one in force at its activation). *SMS packs granted* — `granted_at` in the month
and not reversed since, under the version that gave the pack.

Voided grants (`revoked_at` set: a revocation or a recompute replaced them) never count, as
everywhere else in the cabinet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from fractions import Fraction

from cabinet.finance import errors

MONTH_FORMAT = "YYYY-MM"


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def days(self) -> int:
        return (self.next().first_day() - self.first_day()).days

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """[start, end): midnights of the 1st of this and of the next month, in `zone`."""
        return _midnight(self.first_day(), zone), _midnight(self.next().first_day(), zone)


def _midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def parse_month(text: str) -> Month:
    """`2026-11` → Month(2026, 11); anything else raises `MonthInvalid`."""
    raw = text.strip()
    digits = raw[:4] + raw[5:]
    if len(raw) != 7 or raw[4] != "-" or not (digits.isascii() and digits.isdigit()):
        raise errors.MonthInvalid(text)
    year, month = int(raw[:4]), int(raw[5:])
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise errors.MonthInvalid(text)
    return Month(year, month)


def month_of(moment: datetime, zone: tzinfo) -> Month:
    local = moment.astimezone(zone)
    return Month(local.year, local.month)


def day_ends(month: Month, zone: tzinfo) -> list[datetime]:
    """The end (next midnight) of each day of the month."""
    first = month.first_day()
    return [_midnight(first + timedelta(days=n + 1), zone) for n in range(month.days())]


@dataclass(frozen=True)
class GrantRow:
    client_id: int
    terms_version: int
    percent: int
    starts_at: datetime
    ends_at: datetime


def days_carried(grant: GrantRow, ends: Iterable[datetime]) -> list[int]:
    """Indexes of the days (by their ends) the grant carries: `starts_at < end <= ends_at`."""
    return [i for i, end in enumerate(ends) if grant.starts_at < end <= grant.ends_at]


@dataclass(frozen=True)
class Share:
    """One grant's part of the month."""

    grant: GrantRow
    days: int  # days it carries
    discount_months: Fraction  # after the cap


def shares(
    grants: Iterable[GrantRow], month: Month, zone: tzinfo, cap_at: Callable[[datetime], int]
) -> list[Share]:
    """Each grant in force in the month with its discount-months (capped per client and day)."""
    ends = day_ends(month, zone)
    total_days = len(ends)
    carried: list[tuple[GrantRow, list[int]]] = []
    for grant in grants:
        days = days_carried(grant, ends)
        if days:
            carried.append((grant, days))
    # The sum each client holds on each day, to scale by the cap.
    held: dict[tuple[int, int], int] = defaultdict(int)
    for grant, days in carried:
        for day in days:
            held[(grant.client_id, day)] += grant.percent
    caps = [cap_at(end) for end in ends]
    result = []
    for grant, days in carried:
        worth = Fraction(0)
        for day in days:
            total = held[(grant.client_id, day)]
            scale = min(Fraction(1), Fraction(caps[day], total))
            worth += Fraction(grant.percent, 100) * scale
        result.append(Share(grant, len(days), worth / total_days))
    return result


def last_paid_amounts(
    payments: Iterable[tuple[int, datetime, int, int]], before: datetime
) -> dict[int, int]:
    """Each client's last paid amount before `before`, from (client, paid_at, row id, kopecks):
    the latest `paid_at`, a tie going to the later row."""
    best: dict[int, tuple[datetime, int, int]] = {}
    for client_id, paid_at, row_id, kopecks in payments:
        if paid_at >= before:
            continue
        seen = best.get(client_id)
        if seen is None or (paid_at, row_id) > (seen[0], seen[1]):
            best[client_id] = (paid_at, row_id, kopecks)
    return {client_id: kopecks for client_id, (_, _, kopecks) in best.items()}


def kopecks(discount_months: Fraction, monthly_amount: int) -> int:
    """Discount-months × a monthly amount, rounded half-up to the kopeck."""
    exact = discount_months * monthly_amount
    return int(exact + Fraction(1, 2)) if exact >= 0 else -int(-exact + Fraction(1, 2))


@dataclass(frozen=True)
class ReferralRow:
    terms_version: int  # the version governing it (in force at its activation)
    activated_at: datetime
    qualified_at: datetime | None
    clawed_back_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class PackRow:
    terms_version: int
    size: int
    granted_at: datetime
    revoked_at: datetime | None


@dataclass
class VersionLine:
    """One version of the terms in the month."""

    version: int
    grants_in_force: int = 0
    discount_kopecks: int = 0  # clients with a payment
    paid_clients: set[int] = field(default_factory=set)
    discount_months_unpaid: Fraction = Fraction(0)  # clients without one
    unpaid_clients: set[int] = field(default_factory=set)
    earned: int = 0
    pending: int = 0
    clawed_back: int = 0
    sms_packs: int = 0
    sms_total: int = 0


@dataclass(frozen=True)
class MonthReport:
    month: Month
    lines: tuple[VersionLine, ...]  # by version

    @property
    def total(self) -> VersionLine:
        total = VersionLine(version=0)
        for line in self.lines:
            total.grants_in_force += line.grants_in_force
            total.discount_kopecks += line.discount_kopecks
            total.paid_clients |= line.paid_clients
            total.discount_months_unpaid += line.discount_months_unpaid
            total.unpaid_clients |= line.unpaid_clients
            total.earned += line.earned
            total.pending += line.pending
            total.clawed_back += line.clawed_back
            total.sms_packs += line.sms_packs
            total.sms_total += line.sms_total
        return total


def in_month(moment: datetime | None, start: datetime, end: datetime) -> bool:
    return moment is not None and start <= moment < end


def pending_at(referral: ReferralRow, moment: datetime) -> bool:
    """Activated before `moment`, its reward not yet earned then (a revoked referral: never)."""
    if referral.revoked_at is not None:
        return False
    if referral.activated_at >= moment:
        return False
    return referral.qualified_at is None or referral.qualified_at >= moment


def month_report(
    month: Month,
    zone: tzinfo,
    grants: Iterable[GrantRow],
    referrals: Iterable[ReferralRow],
    packs: Iterable[PackRow],
    paid: Mapping[int, int],
    cap_at: Callable[[datetime], int],
) -> MonthReport:
    """The month's figures by version of the terms. `paid`: each client's last paid amount
    before the month's end (kopecks), for the clients billing has reported a payment of."""
    start, end = month.bounds(zone)
    lines: dict[int, VersionLine] = {}

    def line(version: int) -> VersionLine:
        return lines.setdefault(version, VersionLine(version))

    for share in shares(grants, month, zone, cap_at):
        row = line(share.grant.terms_version)
        row.grants_in_force += 1
        client = share.grant.client_id
        if client in paid:
            row.discount_kopecks += kopecks(share.discount_months, paid[client])
            row.paid_clients.add(client)
        else:
            row.discount_months_unpaid += share.discount_months
            row.unpaid_clients.add(client)
    referrals = list(referrals)
    for referral in referrals:
        if referral.revoked_at is not None:
            continue
        if in_month(referral.qualified_at, start, end):
            line(referral.terms_version).earned += 1
        if in_month(referral.clawed_back_at, start, end):
            line(referral.terms_version).clawed_back += 1
        if pending_at(referral, end):
            line(referral.terms_version).pending += 1
    for pack in packs:
        if pack.revoked_at is None and in_month(pack.granted_at, start, end):
            row = line(pack.terms_version)
            row.sms_packs += 1
            row.sms_total += pack.size
    return MonthReport(month, tuple(lines[v] for v in sorted(lines)))
