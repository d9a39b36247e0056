"""The way forward: what one more referred client would give, what applying a code gives, and
which grants lasted no time, under the terms in force. Pure rules, no app."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.referral_page import way_forward
from cabinet.referrals import rules
from cabinet.referrals.rules import HELP_PAGE_TERMS, Grant, Party
from cabinet.referrals.terms import sms_pack
from cabinet.texts import percent
from tests.support.moments import MOSCOW, msk

V1 = HELP_PAGE_TERMS  # version 1: the help page's terms


def v1_at(_moment: datetime) -> rules.TermsNumbers:
    return V1


NOW = msk("2026-11-26 12:00")


def in_force_after(activations: list[datetime], now: datetime) -> list[Grant]:
    return [g for g in rules.ladder(activations, MOSCOW, v1_at).grants if g.in_force(now)]


def test_a_member_at_level_three_is_told_eighty_percent_for_twelve_months() -> None:
    activations = [msk("2026-11-25 10:03"), msk("2026-11-25 10:30"), msk("2026-11-25 15:18")]
    step = rules.next_referral(in_force_after(activations, NOW), 3, [1200], NOW, MOSCOW, V1)
    assert (step.grant.level, step.grant.percent) == (4, 80)
    assert step.grant.ends_at == msk("2027-11-25 12:00")
    assert step.extends and not step.restarts and step.level_before == 3
    assert step.sms_pack is None
    assert step.discount_percent == 80
    assert (
        way_forward.next_referral_sentence(step, MOSCOW)
        == f"Еще 1 клиент — и скидка станет {percent(80)} до 25.11.2027."
    )


def test_at_the_top_level_the_discount_is_extended() -> None:
    activations = [NOW - timedelta(hours=5 - i) for i in range(5)]
    step = rules.next_referral(in_force_after(activations, NOW), 5, [1200, 3200], NOW, MOSCOW, V1)
    assert step.grant.level == 5 and step.level_before == 5
    sentence = way_forward.next_referral_sentence(step, MOSCOW)
    assert sentence.startswith(f"Еще 1 клиент — и скидка {percent(100)} продлится до ")


def test_an_ended_ladder_starts_again_at_level_one() -> None:
    activations = [msk("2026-01-10 10:00"), msk("2026-01-10 11:00")]  # 40% for 6 months: over
    step = rules.next_referral(in_force_after(activations, NOW), 2, [], NOW, MOSCOW, V1)
    assert step.grant.level == 1 and step.restarts and not step.extends
    assert step.sms_pack == 1200  # the lifetime count reaches 3 all the same
    sentence = way_forward.next_referral_sentence(step, MOSCOW)
    assert "лестница начнется заново" in sentence and sms_pack(1200) in sentence


def test_a_new_member_gets_level_one_and_nothing_restarts() -> None:
    step = rules.next_referral([], 0, [], NOW, MOSCOW, V1)
    assert step.grant.percent == V1.ladder[0].percent and not step.restarts
    assert not step.extends and step.level_before is None


def test_the_discount_told_adds_the_welcome_grant_in_force() -> None:
    welcome = rules.referee_grant(NOW - timedelta(days=1), None, MOSCOW, V1)
    step = rules.next_referral([welcome], 0, [], NOW, MOSCOW, V1)
    assert step.discount_percent == welcome.percent + V1.ladder[0].percent


@settings(max_examples=150, deadline=None)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=400 * 24 * 60), min_size=0, max_size=8),
    since=st.integers(min_value=1, max_value=400 * 24 * 60),
)
def test_what_is_told_is_what_the_ladder_gives(gaps: list[int], since: int) -> None:
    """Whatever came before, the sentence's grant and pack are exactly the ones the next
    activation at `now` gets from `ladder()`, and its percent is the discount then."""
    moments: list[datetime] = []
    moment = NOW - timedelta(minutes=since)
    for gap in gaps:
        moments.append(moment)
        moment = moment - timedelta(minutes=gap)
    activations = sorted(moments)
    before = rules.ladder(activations, MOSCOW, v1_at)
    step = rules.next_referral(
        in_force_after(activations, NOW),
        len(activations),
        [size for size, _ in before.sms_packs],
        NOW,
        MOSCOW,
        V1,
    )
    after = rules.ladder([*activations, NOW], MOSCOW, v1_at)
    assert step.grant == after.grants[-1]
    new_packs = [size for size, at in after.sms_packs if at == NOW]
    assert step.sms_pack == (new_packs[0] if new_packs else None)
    assert step.discount_percent == rules.discount_at(after.grants, NOW, V1)


def party(registered: datetime, promo_until: datetime | None) -> Party:
    return Party(1, True, registered, promo_until, False, None)


def test_the_offer_waits_for_the_promo_period_and_says_so() -> None:
    offer = rules.referee_offer(
        party(msk("2026-11-24 15:00"), msk("2026-12-08 15:00")), NOW, MOSCOW, V1
    )
    assert offer.waits_for_promo and offer.grant.starts_at == msk("2026-12-08 15:00")
    assert offer.deadline == msk("2026-12-24 15:00")
    lines = way_forward.referee_offer_lines(offer, MOSCOW)
    assert lines[0] == f"Скидка {percent(20)} на 3 месяца: с 08.12.2026 по 07.03.2027."
    assert lines[1] == "Скидка начнет действовать после окончания промо-периода, 08.12.2026."
    assert lines[2] == "Применить код можно до 24.12.2026 15:00."


def test_without_a_promo_period_there_is_no_promo_sentence() -> None:
    for promo in (None, msk("2026-11-25 00:00")):  # none, or already over
        offer = rules.referee_offer(party(msk("2026-11-20 15:00"), promo), NOW, MOSCOW, V1)
        assert not offer.waits_for_promo and offer.grant.starts_at == NOW
        lines = way_forward.referee_offer_lines(offer, MOSCOW)
        assert not any("промо" in line for line in lines)
        assert lines[-1] == "Применить код можно до 20.12.2026 15:00."


def test_a_grant_closed_in_its_first_minute_lasted_no_time() -> None:
    start = msk("2026-11-25 22:04") + timedelta(seconds=10)
    grant = Grant(80, start, start + timedelta(seconds=30), "referrer", 4)
    assert rules.lasted_no_time(grant)
    assert rules.lasted_no_time(Grant(80, start, start, "referrer", 4))
    assert not rules.lasted_no_time(Grant(80, start, start + timedelta(minutes=1), "referrer", 4))


@given(st.integers(min_value=0, max_value=10**7), st.integers(min_value=0, max_value=10**6))
def test_lasting_a_minute_or_more_is_never_hidden(offset: int, seconds: int) -> None:
    start = NOW + timedelta(seconds=offset)
    end = start + timedelta(seconds=60 + seconds)
    assert not rules.lasted_no_time(Grant(20, start, end, "referrer", 1))


CAMPAIGN = dataclasses.replace(
    V1,
    version=2,
    referee_percent=30,
    referee_months=2,
    ladder=tuple(dataclasses.replace(s, percent=s.percent + 5) for s in V1.ladder[:4])
    + (dataclasses.replace(V1.ladder[4], percent=99),),
    apply_window_months=2,
)


def test_the_way_forward_reads_the_terms_it_is_given() -> None:
    """Other terms in force, other numbers: nothing of version 1 is built into the rules."""
    step = rules.next_referral([], 0, [], NOW, MOSCOW, CAMPAIGN)
    assert (step.grant.percent, step.grant.terms_version) == (25, 2)
    offer = rules.referee_offer(party(msk("2026-11-20 15:00"), None), NOW, MOSCOW, CAMPAIGN)
    assert offer.grant.percent == 30 and offer.months == 2
    assert offer.deadline == msk("2027-01-20 15:00")
    lines = way_forward.referee_offer_lines(offer, MOSCOW)
    assert lines[0].startswith(f"Скидка {percent(30)} на 2 месяца: ")


# ---- the way forward, stretch by stretch (issue: «станет 40 % до 03.04.2027» while the 40 %
# lasted only until 14.03.2027) ------------------------------------------------------------


def test_grants_that_end_at_different_times_are_told_step_by_step() -> None:
    now = msk("2026-12-03 10:00")
    welcome = Grant(20, msk("2026-12-14 10:00"), msk("2027-03-14 10:00"), "referee", None, 1)
    step = rules.next_referral([welcome], 0, [], now, MOSCOW, V1)
    # the welcome grant has not started: 20 % now, 40 % from 14.12, 20 % again from 14.03
    assert [(s.percent, s.until) for s in step.timeline] == [
        (20, msk("2026-12-14 10:00")),
        (40, msk("2027-03-02 10:00")),  # three months, as the help page counts them
        (20, msk("2027-03-14 10:00")),
    ]
    assert way_forward.next_referral_sentence(step, MOSCOW) == (
        f"Еще 1 клиент — и скидка станет {percent(20)} до 14.12.2026, "
        f"затем {percent(40)} до 02.03.2027, затем {percent(20)} до 14.03.2027."
    )


def test_a_sum_that_drops_when_the_welcome_grant_ends_says_so() -> None:
    now = msk("2026-12-14 12:00")
    welcome = Grant(20, msk("2026-12-14 10:00"), msk("2027-03-14 10:00"), "referee", None, 1)
    running = Grant(20, msk("2026-12-14 11:00"), msk("2027-03-14 11:00"), "referrer", 1, 1)
    step = rules.next_referral([welcome, running], 1, [], now, MOSCOW, V1)
    assert way_forward.next_referral_sentence(step, MOSCOW) == (
        f"Еще 1 клиент — и скидка станет {percent(60)} до 14.03.2027, "
        f"затем {percent(40)} до 13.06.2027."
    )


LEVELS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=60),
        st.integers(min_value=1, max_value=12),
        st.one_of(st.none(), st.integers(min_value=1, max_value=5000)),
    ),
    min_size=1,
    max_size=7,
)


@st.composite
def generated_terms(draw: st.DrawFn) -> rules.TermsNumbers:
    levels = draw(LEVELS)
    percents = sorted(p for p, _, _ in levels)
    return rules.TermsNumbers(
        version=draw(st.integers(min_value=1, max_value=9)),
        referee_percent=draw(st.integers(min_value=1, max_value=60)),
        referee_months=draw(st.integers(min_value=1, max_value=12)),
        ladder=tuple(
            rules.Step(i + 1, percents[i], months, pack)
            for i, (_, months, pack) in enumerate(levels)
        ),
        apply_window_months=draw(st.integers(min_value=1, max_value=3)),
        max_discount_percent=draw(st.integers(min_value=20, max_value=100)),
    )


MINUTES = st.integers(min_value=-400 * 24 * 60, max_value=400 * 24 * 60)


@settings(max_examples=300, deadline=None)
@given(
    terms=generated_terms(),
    activations=st.lists(st.integers(min_value=1, max_value=500 * 24 * 60), max_size=6),
    welcome=st.one_of(st.none(), MINUTES),
    other=st.lists(
        st.tuples(MINUTES, st.integers(min_value=1, max_value=300 * 24 * 60), st.integers(1, 50)),
        max_size=2,
    ),
)
def test_every_statement_about_a_future_moment_is_the_rules_discount_then(
    terms: rules.TermsNumbers,
    activations: list[int],
    welcome: int | None,
    other: list[tuple[int, int, int]],
) -> None:
    """For generated terms and histories: every «X % до D» the way forward tells holds at every
    moment of its stretch (its start, its middle, the minute before D), and after the last one
    there is no discount; the sentence tells the stretches in order, each once."""

    def terms_at(_moment: datetime) -> rules.TermsNumbers:
        return terms

    moments = sorted(NOW - timedelta(minutes=m) for m in activations)
    history = rules.ladder(moments, MOSCOW, terms_at)
    grants = list(history.grants)
    if welcome is not None:  # a welcome grant, in force, ended or waiting for the promo period
        grants.append(rules.referee_grant(NOW + timedelta(minutes=welcome), None, MOSCOW, terms))
    grants += [  # grants of other versions (other percents and ends)
        Grant(p, NOW + timedelta(minutes=s), NOW + timedelta(minutes=s + d), "referee")
        for s, d, p in other
    ]
    held = [g for g in grants if g.ends_at > NOW]
    step = rules.next_referral(
        held, len(moments), [size for size, _ in history.sms_packs], NOW, MOSCOW, terms
    )
    # the world after one more activation at NOW: the ladder's answer for the referrer grants
    after_ladder = rules.ladder([*moments, NOW], MOSCOW, terms_at).grants
    after = [g for g in grants if g.reason != "referrer"] + list(after_ladder)

    start = NOW
    for stretch in step.timeline:
        assert stretch.until > start
        middle = start + (stretch.until - start) / 2
        for at in (start, middle, stretch.until - timedelta(minutes=1)):
            if at >= start:
                assert rules.discount_at(after, at, terms) == stretch.percent, (at, stretch)
        start = stretch.until
    assert rules.discount_at(after, start, terms) == 0
    assert all(rules.discount_at(after, g.ends_at, terms) == 0 for g in after if g.ends_at >= start)
    assert step.timeline and step.timeline[0].percent == step.discount_percent

    sentence = way_forward.next_referral_sentence(step, MOSCOW)
    told = re.findall(
        r"(?:(\d+)\s%|скидки не будет)\s(?:продлится\s)?до\s(\d\d\.\d\d\.\d{4})(?: (\d\d:\d\d))?",
        sentence,
    )
    assert [int(p or 0) for p, _, _ in told] == [s.percent for s in step.timeline]
    for (_, day, time), stretch in zip(told, step.timeline, strict=True):
        shown = stretch.until.astimezone(MOSCOW)
        assert day == shown.strftime("%d.%m.%Y")
        assert not time or time == shown.strftime("%H:%M")
