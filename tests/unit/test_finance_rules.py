"""The rules of finance's monthly report: the month, a day of a grant, discount-months with the
cap, roubles from the last payment, what counts as earned, pending and clawed back."""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from cabinet.finance import errors
from cabinet.finance.rules import (
    GrantRow,
    Month,
    PackRow,
    ReferralRow,
    kopecks,
    last_paid_amounts,
    month_report,
    parse_month,
    pending_at,
    shares,
)

MSK = ZoneInfo("Europe/Moscow")
NOVEMBER = Month(2026, 11)


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MSK)


def cap_100(_at: datetime) -> int:
    return 100


def test_a_month_is_read_as_year_dash_month_and_nothing_else() -> None:
    assert parse_month("2026-11") == NOVEMBER
    assert parse_month(" 2026-02 ").days() == 28
    assert Month(2024, 2).days() == 29
    assert Month(2026, 12).next() == Month(2027, 1)
    for bad in ("2026-13", "2026-1", "11.2026", "", "2026-00", "1999-05", "２０２６-11"):
        with pytest.raises(errors.MonthInvalid):
            parse_month(bad)


def test_the_month_runs_from_moscow_midnight_to_moscow_midnight() -> None:
    start, end = NOVEMBER.bounds(MSK)
    assert start == msk("2026-11-01 00:00")
    assert end == msk("2026-12-01 00:00")
    assert start.utcoffset() is not None


def grant(client: int, percent: int, starts: str, ends: str, version: int = 1) -> GrantRow:
    return GrantRow(client, version, percent, msk(starts), msk(ends))


def test_a_grant_counts_the_days_it_carries_as_the_invoice_does() -> None:
    whole = grant(1, 20, "2026-10-20 10:00", "2027-01-20 10:00")
    second_half = grant(2, 40, "2026-11-16 10:03", "2027-02-16 10:03")  # Nov 16 … 30: 15 days
    first_third = grant(3, 30, "2026-08-01 09:00", "2026-11-11 10:00")  # Nov 1 … 10: 10 days
    before = grant(4, 20, "2026-07-01 09:00", "2026-10-31 23:00")  # ends before November
    after = grant(5, 20, "2026-12-01 00:00", "2027-03-01 00:00")  # its first day is Dec 1
    found = {
        s.grant.client_id: s
        for s in shares([whole, second_half, first_third, before, after], NOVEMBER, MSK, cap_100)
    }
    assert set(found) == {1, 2, 3}
    assert (found[1].days, found[1].discount_months) == (30, Fraction(1, 5))
    assert (found[2].days, found[2].discount_months) == (15, Fraction(1, 5))
    assert (found[3].days, found[3].discount_months) == (10, Fraction(1, 10))


def test_grants_above_the_cap_are_scaled_down_that_day() -> None:
    big = grant(7, 80, "2026-10-01 00:00", "2027-01-01 00:00", version=1)
    more = grant(7, 40, "2026-10-01 00:00", "2027-01-01 00:00", version=2)
    found = {
        s.grant.terms_version: s.discount_months
        for s in shares([big, more], NOVEMBER, MSK, cap_100)
    }
    assert found == {1: Fraction(2, 3), 2: Fraction(1, 3)}  # 120 % capped at 100 %: × 5/6
    assert sum(found.values()) == 1

    # a cap of 60 % in the second half of the month
    def cap(at: datetime) -> int:
        return 60 if at > msk("2026-11-16 00:00") else 100

    half = {
        s.grant.terms_version: s.discount_months for s in shares([big, more], NOVEMBER, MSK, cap)
    }
    assert sum(half.values()) == Fraction(15, 30) * 1 + Fraction(15, 30) * Fraction(60, 100)


def test_the_last_payment_before_the_months_end_is_the_monthly_amount() -> None:
    payments = [
        (1, msk("2026-10-05 12:00"), 1, 1_000_000),
        (1, msk("2026-11-05 12:00"), 2, 1_200_000),
        (1, msk("2026-12-01 00:00"), 3, 9_999_999),  # December's: not November's
        (2, msk("2026-11-05 12:00"), 4, 500_000),
        (2, msk("2026-11-05 12:00"), 5, 600_000),  # the same moment, reported later: wins
    ]
    assert last_paid_amounts(payments, msk("2026-12-01 00:00")) == {1: 1_200_000, 2: 600_000}
    assert last_paid_amounts(payments, msk("2026-10-01 00:00")) == {}


def test_kopecks_round_half_up() -> None:
    assert kopecks(Fraction(1, 5), 1_234_567) == 246_913  # 246 913,4
    assert kopecks(Fraction(1, 2), 3) == 2  # 1,5 → 2
    assert kopecks(Fraction(1, 3), 100) == 33


def referral(
    activated: str,
    qualified: str | None = None,
    clawed: str | None = None,
    revoked: str | None = None,
    version: int = 1,
) -> ReferralRow:
    return ReferralRow(
        version,
        msk(activated),
        None if qualified is None else msk(qualified),
        None if clawed is None else msk(clawed),
        None if revoked is None else msk(revoked),
    )


def test_pending_means_activated_and_not_yet_earned_at_that_moment() -> None:
    end = msk("2026-12-01 00:00")
    assert pending_at(referral("2026-11-10 10:00"), end)
    assert pending_at(referral("2026-10-10 10:00", qualified="2026-12-03 10:00"), end)
    assert not pending_at(referral("2026-10-10 10:00", qualified="2026-11-30 10:00"), end)
    assert not pending_at(referral("2026-12-01 00:00"), end)  # activated after
    assert not pending_at(referral("2026-11-10 10:00", revoked="2026-12-10 10:00"), end)


def test_the_month_report_by_version() -> None:
    report = month_report(
        NOVEMBER,
        MSK,
        grants=[
            grant(1, 20, "2026-10-20 10:00", "2027-01-20 10:00", version=1),  # paid: 0.2 × 10 000 ₽
            grant(2, 40, "2026-11-16 10:03", "2027-02-16 10:03", version=2),  # unpaid: 0.2
        ],
        referrals=[
            referral("2026-11-02 10:00", qualified="2026-11-02 10:00", version=1),  # earned
            referral("2026-11-03 10:00", version=2),  # pending
            referral("2026-09-03 10:00", "2026-10-01 10:00", "2026-11-20 10:00", version=2),
            referral("2026-11-04 10:00", "2026-11-04 10:00", revoked="2026-11-05 10:00"),
        ],
        packs=[
            PackRow(1, 1200, msk("2026-11-02 10:00"), None),
            PackRow(1, 3200, msk("2026-11-02 10:00"), msk("2026-11-25 10:00")),  # reversed
            PackRow(2, 1200, msk("2026-10-31 23:59"), None),  # October's
        ],
        paid={1: 1_000_000},
        cap_at=cap_100,
    )
    one, two = report.lines
    assert (one.version, one.grants_in_force, one.discount_kopecks, one.paid_clients) == (
        1,
        1,
        200_000,
        {1},
    )
    assert (one.earned, one.pending, one.clawed_back, one.sms_packs, one.sms_total) == (
        1,
        0,
        0,
        1,
        1200,
    )
    assert (two.grants_in_force, two.discount_months_unpaid, two.unpaid_clients) == (
        1,
        Fraction(1, 5),
        {2},
    )
    assert (two.earned, two.pending, two.clawed_back, two.sms_packs) == (0, 1, 1, 0)
    total = report.total
    assert (total.grants_in_force, total.discount_kopecks, total.discount_months_unpaid) == (
        2,
        200_000,
        Fraction(1, 5),
    )
