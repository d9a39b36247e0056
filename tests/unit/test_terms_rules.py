"""Versions of the terms, as pure rules: which version is in force, and the ladder across a
change of terms (docs/rules.md, «Версии условий»). No app, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet import texts
from cabinet.invitations import messages
from cabinet.program.rules import MAX_MONTHS
from cabinet.referrals import rules
from cabinet.referrals.rules import (
    BEGINNING,
    HELP_PAGE_SCHEDULE,
    HELP_PAGE_TERMS,
    Grant,
    Schedule,
    Step,
    TermsNumbers,
    Version,
)
from tests.support.moments import MOSCOW, msk


def terms(version: int, *steps: tuple[int, int, int | None], referee: int = 20) -> TermsNumbers:
    return TermsNumbers(
        version=version,
        referee_percent=referee,
        referee_months=3,
        ladder=tuple(Step(i, p, m, pack) for i, (p, m, pack) in enumerate(steps, start=1)),
        apply_window_months=1,
        max_discount_percent=100,
    )


V1 = Version(HELP_PAGE_TERMS, BEGINNING)
# «В декабре — 40% за первого друга»: a campaign over the help page's terms.
DECEMBER = Version(
    terms(2, (40, 3, None), (60, 6, None), (80, 12, 2000), referee=30),
    msk("2023-12-01 00:00"),
    msk("2024-01-01 00:00"),
    "Декабрьская акция",
)
SCHEDULE = Schedule((V1, DECEMBER))


def test_version_1_is_in_force_from_the_beginning() -> None:
    assert HELP_PAGE_SCHEDULE.at(msk("2023-03-31 10:03")) == HELP_PAGE_TERMS
    assert HELP_PAGE_SCHEDULE.at(BEGINNING).version == 1


def test_a_campaign_is_in_force_from_its_start_to_its_end_then_the_previous_terms_again() -> None:
    assert SCHEDULE.at(msk("2023-11-30 23:59")).version == 1
    assert SCHEDULE.at(msk("2023-12-01 00:00")).version == 2  # the start is included
    assert SCHEDULE.at(msk("2023-12-31 23:59")).version == 2
    assert SCHEDULE.at(msk("2024-01-01 00:00")).version == 1  # the end is not


def test_new_regular_terms_during_a_campaign_take_over_when_it_ends() -> None:
    regular = Version(terms(3, (25, 3, None)), msk("2023-12-15 00:00"))
    schedule = Schedule((V1, DECEMBER, regular))
    assert schedule.at(msk("2023-12-10 12:00")).version == 2
    # Before: the latest start won, and cut the campaign short. The campaign keeps its window.
    assert schedule.at(msk("2023-12-20 12:00")).version == 2
    assert schedule.at(DECEMBER.ends_at).version == 3
    assert schedule.at(msk("2024-01-10 12:00")).version == 3
    assert schedule.takes_effect(regular) == DECEMBER.ends_at
    assert schedule.takes_effect(DECEMBER) == DECEMBER.effective_from


def test_upcoming_versions_and_the_next_change() -> None:
    now = msk("2023-11-01 00:00")
    assert SCHEDULE.upcoming(now) == (DECEMBER,)
    assert SCHEDULE.changes_after(now) == DECEMBER.effective_from
    assert SCHEDULE.changes_after(msk("2023-12-05 00:00")) == DECEMBER.ends_at
    assert SCHEDULE.changes_after(msk("2024-02-01 00:00")) is None


def test_no_version_in_force_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError):
        Schedule((DECEMBER,)).at(msk("2023-06-01 00:00"))


def test_the_referee_gets_the_terms_in_force_at_the_activation() -> None:
    at = msk("2023-12-10 10:00")
    grant = rules.referee_grant(at, None, MOSCOW, SCHEDULE.at(at))
    assert (grant.percent, grant.terms_version) == (30, 2)
    after = msk("2024-01-10 10:00")
    assert rules.referee_grant(after, None, MOSCOW, SCHEDULE.at(after)).percent == 20


def test_the_ladder_continues_by_level_into_the_campaign() -> None:
    """Level 1 under version 1 in November; the December referral is level 2 of December's
    terms (60% for 6 months), and the January one level 3 of version 1 again (60%, 12 months)."""
    moments = [msk("2023-11-20 10:00"), msk("2023-12-10 10:00"), msk("2024-01-10 10:00")]
    result = rules.ladder(moments, MOSCOW, SCHEDULE.at)
    assert [(g.level, g.percent, g.terms_version) for g in result.grants] == [
        (1, 20, 1),
        (2, 60, 2),
        (3, 60, 1),
    ]
    assert result.grants[1].ends_at == moments[2]  # closed by the next level: no overlap
    # Version 1's pack at 3 referred clients, given by the January activation.
    assert result.sms_packs == ((1200, moments[2]),)


def test_a_shorter_ladder_caps_the_level_at_its_own_top() -> None:
    short = Version(terms(4, (30, 3, None), (50, 3, None)), msk("2023-06-01 00:00"))
    schedule = Schedule((V1, short))
    moments = [msk("2023-05-01 10:00") + timedelta(days=i) for i in range(3)]  # levels 1, 2, 3
    moments += [msk("2023-06-02 10:00")]  # level 4 would come next: version 4 tops out at 2
    grants = rules.ladder(moments, MOSCOW, schedule.at).grants
    assert [(g.level, g.percent) for g in grants] == [(1, 20), (2, 40), (3, 60), (2, 50)]


def test_a_pack_size_already_held_is_never_given_again() -> None:
    """Version 1 gave 1200 SMS at 3 clients; the new terms give 1200 at 4: not a second time."""
    again = Version(
        terms(5, (20, 3, None), (40, 6, None), (60, 12, None), (80, 12, 1200)),
        msk("2023-06-01 00:00"),
    )
    moments = [msk("2023-05-01 10:00") + timedelta(days=i) for i in range(3)]
    moments += [msk("2023-06-02 10:00")]
    result = rules.ladder(moments, MOSCOW, Schedule((V1, again)).at)
    assert [size for size, _ in result.sms_packs] == [1200]


# ---- properties ----------------------------------------------------------------------------

START = msk("2023-01-01 00:00")
step_values = st.tuples(
    st.integers(1, 100), st.integers(1, 24), st.one_of(st.none(), st.sampled_from([500, 1200]))
)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    """Version 1, then up to three more versions, some of them campaigns with an end."""
    versions = [V1]
    for number in range(2, 2 + draw(st.integers(0, 3))):
        steps = draw(st.lists(step_values, min_size=1, max_size=7))
        starts = START + timedelta(days=draw(st.integers(0, 500)))
        length = draw(st.one_of(st.none(), st.integers(1, 120)))
        ends = None if length is None else starts + timedelta(days=length)
        versions.append(Version(terms(number, *steps), starts, ends))
    return Schedule(tuple(versions))


gaps = st.lists(
    st.one_of(st.just(0), st.integers(1, 24 * 60), st.integers(0, 200 * 24 * 60)),
    max_size=12,
)


def _moments(minutes_apart: list[int]) -> list[datetime]:
    moments, at = [], START
    for gap in minutes_apart:
        at += timedelta(minutes=gap)
        moments.append(at)
    return moments


@settings(max_examples=300, deadline=None)
@given(schedules(), gaps)
def test_a_change_of_terms_continues_the_ladder_never_regrants_a_pack_never_overlaps(
    schedule: Schedule, minutes_apart: list[int]
) -> None:
    moments = _moments(minutes_apart)
    result = rules.ladder(moments, MOSCOW, schedule.at)
    grants = result.grants
    # Each grant is the step of the terms in force at its activation, and names them.
    for grant, moment in zip(grants, moments, strict=True):
        in_force = schedule.at(moment)
        assert grant.starts_at == moment
        assert grant.terms_version == in_force.version
        assert grant.level is not None and 1 <= grant.level <= in_force.top_level
        reached = in_force.step(grant.level)
        assert grant.percent == reached.percent
    # The ladder continues by level: one up from the grant in force (as it was issued), capped
    # by the new terms' top level; level 1 when none is in force. A pack comes only from the
    # terms in force at the activation that reaches its count, and never a size already held.
    issued: list[Grant] = []
    packs: list[tuple[int, datetime]] = []
    for count, moment in enumerate(moments):
        in_force = schedule.at(moment)
        running = issued[-1] if issued and issued[-1].in_force(moment) else None
        expected = 1 if running is None else min(in_force.top_level, (running.level or 0) + 1)
        held = [size for size, _ in packs]
        reward = rules.referrer_reward(
            issued[-1] if issued else None, count, held, moment, MOSCOW, in_force
        )
        assert reward.grant.level == expected
        for size in reward.sms_packs:
            assert size not in held
            assert size in {s.sms_pack for s in in_force.ladder if s.level == count + 1}
        issued.append(reward.grant)
        packs.extend((size, moment) for size in reward.sms_packs)
    assert tuple(packs) == result.sms_packs
    # Never two referrer grants at once.
    for earlier, later in zip(grants, grants[1:], strict=False):
        assert earlier.ends_at <= later.starts_at
    sizes = [size for size, _ in result.sms_packs]
    assert len(sizes) == len(set(sizes))


@settings(max_examples=150, deadline=None)
@given(schedules(), gaps, st.data())
def test_revoking_under_several_versions_leaves_the_ladder_of_what_remains(
    schedule: Schedule, minutes_apart: list[int], data: st.DataObject
) -> None:
    """The replay after a revocation uses each remaining activation's own terms, so the grants
    before the revoked one are kept exactly (their version included)."""
    moments = _moments(minutes_apart)
    if not moments:
        return
    full = rules.ladder(moments, MOSCOW, schedule.at)
    held = [
        rules.HeldGrant(grant_id=i + 1, referral_id=i + 1, grant=g)
        for i, g in enumerate(full.grants)
    ]
    gone = data.draw(st.integers(0, len(moments) - 1))
    remaining = [(i + 1, m) for i, m in enumerate(moments) if i != gone]
    plan = rules.recompute_ladder(
        held, (size for size, _ in full.sms_packs), remaining, MOSCOW, schedule.at
    )
    kept = [h.grant for h in held if h.grant_id not in plan.void]
    after = kept + [g for _, g in plan.issue]
    assert tuple(after) == rules.ladder([m for _, m in remaining], MOSCOW, schedule.at).grants
    assert all(h.grant_id not in plan.void for h in held[: max(gone - 1, 0)])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 100), st.integers(1, 120), st.integers(1, 120))
def test_the_invitation_sms_fits_two_parts_under_any_valid_terms(
    percent: int, lasts: int, window: int
) -> None:
    assert lasts <= MAX_MONTHS and window <= MAX_MONTHS  # the editor's bounds
    terms_ = replace(
        HELP_PAGE_TERMS, referee_percent=percent, referee_months=lasts, apply_window_months=window
    )
    link = "http://127.0.0.1:5000/r/5e83e12b1"
    text = messages.sms_text("5e83e12b1", terms_, "ТехСтрой", link)
    assert len(text) <= messages.SMS_MAX_CHARS
    assert texts.percent(percent) in text and "5e83e12b1" in text and text.endswith(link)
