"""The demo's «Сезонная акция»: the campaign it publishes over any valid terms is itself valid,
differs from them, and runs from the next midnight of the cabinet's time for two weeks."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from cabinet.demo.stories import CAMPAIGN_DAYS, campaign_period, campaign_terms
from cabinet.program import rules
from cabinet.referrals.rules import HELP_PAGE_TERMS, Step, TermsNumbers

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)  # 23:30 in Moscow


def test_over_the_help_pages_terms_the_first_friend_gives_twice_as_much() -> None:
    campaign = campaign_terms(HELP_PAGE_TERMS)
    assert (campaign.ladder[0].percent, campaign.ladder[0].months) == (40, 3)
    assert campaign.ladder[1:] == HELP_PAGE_TERMS.ladder[1:]
    assert campaign.referee_percent == HELP_PAGE_TERMS.referee_percent


def test_where_the_next_level_leaves_no_room_the_first_level_lasts_longer() -> None:
    flat = replace(HELP_PAGE_TERMS, ladder=(Step(1, 30, 2, None), Step(2, 30, 4, 500)))
    assert campaign_terms(flat).ladder[0] == Step(1, 30, 4, None)


def test_the_campaign_starts_at_the_next_moscow_midnight_and_lasts_two_weeks() -> None:
    starts, ends = campaign_period(NOW, MSK)
    assert starts.astimezone(MSK).isoformat() == "2026-11-26T00:00:00+03:00"
    assert (ends - starts).days == CAMPAIGN_DAYS


@st.composite
def terms(draw: st.DrawFn) -> TermsNumbers:
    percents = sorted(draw(st.lists(st.integers(1, 100), min_size=1, max_size=6)))
    ladder = tuple(
        Step(level, p, draw(st.integers(1, rules.MAX_MONTHS)), None)
        for level, p in enumerate(percents, start=1)
    )
    return replace(HELP_PAGE_TERMS, ladder=ladder, max_discount_percent=100)


@given(terms())
def test_the_campaign_over_any_valid_terms_is_a_valid_draft_that_differs(
    regular: TermsNumbers,
) -> None:
    campaign = campaign_terms(regular)
    starts, ends = campaign_period(NOW, MSK)
    values = rules.values_of(
        campaign,
        "Сезонная акция",
        starts.astimezone(MSK).replace(tzinfo=None).isoformat(),
        ends.astimezone(MSK).replace(tzinfo=None).isoformat(),
    )
    draft = rules.validate(values, NOW, MSK)  # raises TermsInvalid if it were not
    assert draft.ladder == campaign.ladder
    first, before = campaign.ladder[0], regular.ladder[0]
    assert first.percent >= before.percent and first.months >= before.months
    assert campaign != regular or before.months == rules.MAX_MONTHS
