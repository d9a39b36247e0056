"""The dashboard's arithmetic as pure functions (cabinet/dashboard/rules.py)."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from cabinet.dashboard import rules
from tests.conftest import MOSCOW, msk

NOW = msk("2023-04-01 12:00")


def test_weeks_are_moscow_mondays_ending_with_this_one() -> None:
    # 02.04.2023 is a Sunday: 23:30 in Moscow is still that week, though Monday in UTC+4.
    mondays = rules.week_mondays(msk("2023-04-02 23:30"), MOSCOW, weeks=3)
    assert mondays == (date(2023, 3, 13), date(2023, 3, 20), date(2023, 3, 27))


def test_referrals_are_counted_in_their_moscow_week() -> None:
    mondays = rules.week_mondays(NOW, MOSCOW, weeks=2)
    weeks = rules.referrals_by_week(
        [
            msk("2023-03-27 00:10"),
            msk("2023-03-26 23:50"),
            msk("2023-03-31 10:03"),
            msk("2023-01-02 10:00"),
        ],
        mondays,
        MOSCOW,
    )
    assert [(w.starts, w.referrals) for w in weeks] == [
        (date(2023, 3, 20), 1),
        (date(2023, 3, 27), 2),
    ]


def test_liability_splits_grants_in_force_from_those_to_come() -> None:
    month = timedelta(days=rules.DAYS_PER_MONTH)
    in_force, coming = rules.liability(
        [
            (60, NOW - month, NOW + 2 * month),  # 60 × 2 months left
            (20, NOW + month, NOW + 4 * month),  # 20 × 3 months, not started
            (40, NOW - 3 * month, NOW),  # ended
        ],
        NOW,
    )
    assert (in_force, coming) == (120.0, 60.0)


def test_channel_stats_count_every_status_of_each_channel() -> None:
    stats = rules.channel_stats(
        {("sms", "sent"): 3, ("sms", "failed"): 1, ("sms", "queued"): 2, ("email", "sending"): 1}
    )
    assert [(s.channel, s.sent, s.delivered, s.failed, s.pending) for s in stats] == [
        ("sms", 6, 3, 1, 2),
        ("email", 1, 0, 0, 1),
    ]


def test_conversion_of_nothing_is_no_rate() -> None:
    assert rules.conversion_percent(0, 0) is None  # shown as «—», not «0,0 %»
    assert rules.conversion_percent(3, 1) == 33.3


@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=20))
def test_chart_bars_are_shares_of_the_busiest_week(counts: list[int]) -> None:
    weeks = tuple(
        rules.Week(date(2023, 1, 2) + timedelta(weeks=n), c) for n, c in enumerate(counts)
    )
    bars = rules.chart(weeks)
    assert [(bar.starts, bar.value) for bar in bars] == [(w.starts, w.referrals) for w in weeks]
    assert all(0 <= bar.share <= 100 for bar in bars)
    if max(counts):
        assert max(bar.share for bar in bars) == 100
    for a, b in zip(bars, bars[1:], strict=False):  # a longer bar never stands for fewer referrals
        if a.value <= b.value:
            assert a.share <= b.share
        else:
            assert a.share >= b.share
