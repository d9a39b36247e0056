"""Invoice preview rules: split by days at grant boundaries, half-up to the kopeck."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet.billing.rules import Line, Period, day_percent, half_up, price, price_line, split
from cabinet.referrals.rules import HELP_PAGE_SCHEDULE, Grant, ladder
from tests.support.moments import MOSCOW, msk

V1_AT = HELP_PAGE_SCHEDULE.at  # version 1: the help page's terms


def worked_example_grants() -> tuple[Grant, ...]:
    """The referrer of the help page's example: 20%, 40%, then 60% from 31.03.2023 15:18."""
    activations = [msk("2023-03-31 10:03"), msk("2023-03-31 10:30"), msk("2023-03-31 15:18")]
    return ladder(activations, MOSCOW, V1_AT).grants


def referee_grant() -> Grant:
    """407 «ТехСтрой»: 20% from 31.03.2023 15:18 to 29.06.2023 15:18."""
    return Grant(20, msk("2023-03-31 15:18"), msk("2023-06-29 15:18"), "referee")


APRIL = Period(date(2023, 4, 1), date(2023, 4, 30))


def test_half_up_rounds_a_half_kopeck_up_not_to_even() -> None:
    assert half_up(5, 2) == 3  # 2.5 → 3 (banker's rounding would give 2)
    assert half_up(3, 2) == 2  # 1.5 → 2
    assert half_up(7, 3) == 2  # 2.33 → 2
    assert half_up(8, 3) == 3  # 2.67 → 3
    with pytest.raises(ValueError):
        half_up(-1, 2)


def test_done_when_a_month_of_service_and_an_sms_package_for_the_worked_example() -> None:
    """RULES.md: on 01.04.2023 the referrer has 60%; the discount never touches SMS packages."""
    grants = worked_example_grants()
    invoice = price(
        [Line("service", 1_000_000, APRIL), Line("sms_package", 50_000, APRIL)],
        grants,
        msk("2023-05-01 00:00"),
        MOSCOW,
        V1_AT,
    )
    service, sms = invoice.lines
    assert [(s.percent, s.amount, s.discount) for s in service.segments] == [
        (60, 1_000_000, 600_000)
    ]
    assert (service.discount, service.total) == (600_000, 400_000)  # 4 000.00 ₽
    assert (sms.excluded, sms.discount, sms.total) == (True, 0, 50_000)
    assert (invoice.amount, invoice.discount, invoice.total) == (1_050_000, 600_000, 450_000)


def test_the_activation_day_carries_the_new_discount() -> None:
    """March 2023: 30 days at 0%, and 31.03 (the day of the three activations) at 60%."""
    grants = worked_example_grants()
    priced = price_line(
        Line("service", 1_000_000, Period(date(2023, 3, 1), date(2023, 3, 31))),
        grants,
        msk("2023-04-01 00:00"),
        MOSCOW,
        V1_AT,
    )
    assert [(s.period, s.percent, s.amount, s.discount) for s in priced.segments] == [
        (Period(date(2023, 3, 1), date(2023, 3, 30)), 0, 967_742, 0),  # 1 000 000 × 30/31
        (Period(date(2023, 3, 31), date(2023, 3, 31)), 60, 32_258, 19_355),  # 19 354.8 → 19 355
    ]
    assert (priced.discount, priced.total) == (19_355, 980_645)


def test_the_day_a_grant_ends_is_not_discounted() -> None:
    """The referee's 20% ends 29.06.2023 15:18: June has 28 days at 20% and 2 at 0%."""
    priced = price_line(
        Line("service", 1_000_000, Period(date(2023, 6, 1), date(2023, 6, 30))),
        [referee_grant()],
        msk("2023-07-01 00:00"),
        MOSCOW,
        V1_AT,
    )
    assert [
        (s.period.days if s.period else None, s.percent, s.amount, s.discount)
        for s in priced.segments
    ] == [
        (28, 20, 933_333, 186_667),  # 933 333.33 → 933 333; × 20% = 186 666.6 → 186 667
        (2, 0, 66_667, 0),
    ]
    assert priced.total == 813_333


def test_a_grant_covers_as_many_days_as_it_lasts() -> None:
    grant = referee_grant()  # 31.03 15:18 … 29.06 15:18: 90 days
    year = Period(date(2023, 1, 1), date(2023, 12, 31))
    covered = [d for d in year.each_day() if day_percent([grant], d, MOSCOW, V1_AT) == 20]
    assert len(covered) == (grant.ends_at - grant.starts_at).days == 90
    assert (covered[0], covered[-1]) == (date(2023, 3, 31), date(2023, 6, 28))


def test_a_closed_grant_and_its_successor_never_add_up_on_one_day() -> None:
    grants = worked_example_grants()
    assert day_percent(grants, date(2023, 3, 31), MOSCOW, V1_AT) == 60  # not 20 + 40 + 60
    assert split(Period(date(2023, 3, 30), date(2023, 4, 1)), grants, MOSCOW, V1_AT) == [
        (Period(date(2023, 3, 30), date(2023, 3, 30)), 0),
        (Period(date(2023, 3, 31), date(2023, 4, 1)), 60),
    ]


def test_a_line_without_a_period_takes_the_discount_at_the_moment() -> None:
    grants = worked_example_grants()
    at_1015 = price_line(Line("service", 10_001), grants, msk("2023-03-31 10:15"), MOSCOW, V1_AT)
    assert (at_1015.segments[0].percent, at_1015.discount) == (20, 2_000)  # 2000.2 → 2000
    at_1015_sms = price_line(
        Line("sms_package", 10_001), grants, msk("2023-03-31 10:15"), MOSCOW, V1_AT
    )
    assert (at_1015_sms.segments[0].percent, at_1015_sms.discount) == (0, 0)


def test_the_discount_is_capped_at_100_percent() -> None:
    start, end = msk("2023-04-01 00:00"), msk("2024-04-01 00:00")
    grants = [Grant(100, start, end, "referrer", 5), Grant(20, start, end, "referee")]
    priced = price_line(Line("service", 12_345, APRIL), grants, start, MOSCOW, V1_AT)
    assert (priced.discount, priced.total) == (12_345, 0)


grant_strategy = st.builds(
    lambda start_day, hours, days, percent: Grant(
        percent,
        msk("2023-01-01 00:00") + timedelta(days=start_day, hours=hours),
        msk("2023-01-01 00:00") + timedelta(days=start_day + days, hours=hours),
        "referrer",
        1,
    ),
    st.integers(0, 120),
    st.integers(0, 23),
    st.integers(0, 400),
    st.sampled_from([20, 40, 60, 80, 100]),
)


@given(
    amount=st.integers(0, 10**12),
    first=st.integers(0, 200),
    days=st.integers(1, 366),
    grants=st.lists(grant_strategy, max_size=4),
    kind=st.sampled_from(["service", "sms_package"]),
)
def test_split_lines_add_up_and_stay_within_a_kopeck_per_segment(
    amount: int, first: int, days: int, grants: list[Grant], kind: str
) -> None:
    start = date(2023, 1, 1) + timedelta(days=first)
    period = Period(start, start + timedelta(days=days - 1))
    priced = price_line(Line(kind, amount, period), grants, msk("2023-01-01 00:00"), MOSCOW, V1_AT)  # type: ignore[arg-type]
    assert sum(s.amount for s in priced.segments) == amount
    assert sum(s.period.days for s in priced.segments if s.period) == days
    assert 0 <= priced.discount <= amount
    if kind == "sms_package":
        assert priced.discount == 0 and priced.total == amount
        return
    exact = sum(
        Fraction(amount * day_percent(grants, d, MOSCOW, V1_AT), 100 * days)
        for d in period.each_day()
    )
    assert abs(priced.discount - exact) <= Fraction(3, 2) * len(priced.segments)
    for segment in priced.segments:
        assert segment.discount == half_up(segment.amount * segment.percent, 100)
