"""The rules of docs/rules.md, one test (or more) per rule; no app, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.clients.errors import ClientClosed, ClientNotFound
from cabinet.moments import MomentOutOfRange, parse_moment, show_moment
from cabinet.referrals import errors, rules
from cabinet.referrals.rules import HELP_PAGE_SCHEDULE, HELP_PAGE_TERMS, Grant, Party
from tests.support.moments import MOSCOW, msk

V1 = HELP_PAGE_TERMS  # version 1: the help page's terms
V1_AT = HELP_PAGE_SCHEDULE.at
LADDER = V1.ladder

NEW_YORK = ZoneInfo("America/New_York")  # a zone with daylight saving, for contrast


def party(client_id: int = 2, **overrides: object) -> Party:
    values: dict[str, object] = {
        "client_id": client_id,
        "active": True,
        "registered_at": msk("2023-03-20 09:00"),
        "promo_until": None,
        "is_member": False,
        "referred_by": None,
    }
    values.update(overrides)
    return Party(**values)  # type: ignore[arg-type]


REFERRER = party(1, is_member=True)
NOW = msk("2023-03-31 10:03")

# ---- calendar ------------------------------------------------------------------------------


def test_help_page_example_three_months_minus_a_day() -> None:
    end = rules.period_end(msk("2023-03-30 15:47"), 3, MOSCOW)
    assert show_moment(end, MOSCOW) == "29.06.2023 15:47"


def test_worked_example_twelve_months() -> None:
    end = rules.period_end(msk("2023-03-31 15:18"), 12, MOSCOW)
    assert show_moment(end, MOSCOW) == "30.03.2024 15:18"


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2023-01-31 12:00", 1, "27.02.2023 12:00"),  # 31.01 + 1 month clamps to 28.02
        ("2024-01-31 12:00", 1, "28.02.2024 12:00"),  # leap year: 29.02 − 1 day
        ("2023-11-30 08:00", 3, "28.02.2024 08:00"),  # into a leap February
        ("2023-12-31 23:59", 3, "30.03.2024 23:59"),  # across the year
        ("2023-03-01 00:00", 6, "31.08.2023 00:00"),  # first of month ends on a month's last day
        ("2024-02-29 10:00", 12, "27.02.2025 10:00"),  # 29.02 + 12 months = 28.02.2025
    ],
)
def test_month_end_edges(start: str, months: int, end: str) -> None:
    assert show_moment(rules.period_end(msk(start), months, MOSCOW), MOSCOW) == end


def test_months_are_counted_on_the_moscow_calendar_not_utc() -> None:
    # 01.04 01:00 in Moscow is still 31.03 in UTC: a UTC calendar would end on 29.06.
    end = rules.period_end(msk("2023-04-01 01:00"), 3, MOSCOW)
    assert show_moment(end, MOSCOW) == "30.06.2023 01:00"
    assert end.astimezone(UTC).day == 29  # the stored UTC moment is the previous evening


def test_moscow_has_no_daylight_saving_so_the_hour_is_kept_across_seasons() -> None:
    start = msk("2023-01-15 10:00")
    end = rules.period_end(start, 6, MOSCOW)
    assert show_moment(end, MOSCOW) == "14.07.2023 10:00"
    assert (end - start) % timedelta(days=1) == timedelta(0)  # whole days: no hour gained or lost
    assert end.utcoffset() == start.utcoffset()


def test_a_daylight_saving_zone_keeps_wall_time_not_elapsed_hours() -> None:
    start = datetime(2023, 1, 15, 10, 0, tzinfo=NEW_YORK).astimezone(UTC)
    end = rules.period_end(start, 6, NEW_YORK)
    assert end.astimezone(NEW_YORK).strftime("%d.%m.%Y %H:%M") == "14.07.2023 10:00"
    assert (end - start) % timedelta(days=1) == timedelta(hours=23)  # one hour lost in March


def test_apply_deadline_is_registration_plus_one_calendar_month() -> None:
    assert rules.apply_deadline(msk("2023-03-20 09:00"), MOSCOW, V1) == msk("2023-04-20 09:00")
    assert rules.apply_deadline(msk("2023-01-31 09:00"), MOSCOW, V1) == msk("2023-02-28 09:00")


def test_iso_moment_without_offset_is_in_the_cabinet_zone() -> None:
    assert parse_moment("2023-03-30T15:47", MOSCOW) == datetime(2023, 3, 30, 12, 47, tzinfo=UTC)
    assert parse_moment("2023-03-30T15:47:00+00:00", MOSCOW) == datetime(
        2023, 3, 30, 15, 47, tzinfo=UTC
    )
    with pytest.raises(ValueError) as no_moment:
        parse_moment("30.03.2023", MOSCOW)
    assert not isinstance(no_moment.value, MomentOutOfRange)
    for out_of_range in ("2101-01-01T00:00", "1969-12-31T23:59+00:00", "9999-12-31T23:59-01:00"):
        with pytest.raises(MomentOutOfRange):
            parse_moment(out_of_range, MOSCOW)


# ---- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["5e83e12b1", " 5e83e12b1 ", "5E83E12B1", "5e83e-12b1", "5e83e 12b1", "5e8 3e1-2b1\t"]
)
def test_codes_are_normalised(typed: str) -> None:
    assert rules.parse_code(typed) == "5e83e12b1"


@pytest.mark.parametrize(
    "typed", ["", "5e83e12b", "5e83e12b12", "5e83e12bz", "ёжик12345", "5e8_3e12b1"]
)
def test_malformed_codes_are_refused(typed: str) -> None:
    with pytest.raises(errors.CodeMalformed):
        rules.parse_code(typed)


def test_new_code_is_nine_lowercase_hex_from_the_random_source() -> None:
    assert rules.new_code(lambda n: bytes(range(1, n + 1))) == "010203040"
    drawn: list[int] = []

    def source(n: int) -> bytes:
        drawn.append(n)
        return b"\xab" * n

    assert rules.new_code(source) == "ababababa"
    assert drawn == [5]


@given(st.binary(min_size=5, max_size=5))
def test_every_new_code_is_a_valid_code(raw: bytes) -> None:
    code = rules.new_code(lambda _n: raw)
    assert rules.is_code(code)
    assert rules.parse_code(code.upper()) == code


# ---- joining and applying -------------------------------------------------------------------


def test_an_active_client_may_join_without_a_code() -> None:
    rules.check_join(party())


def test_a_closed_client_cannot_join() -> None:
    with pytest.raises(ClientClosed):
        rules.check_join(party(active=False))


def test_a_member_cannot_join_twice() -> None:
    with pytest.raises(errors.AlreadyMember):
        rules.check_join(party(is_member=True))


def test_a_valid_application_passes() -> None:
    rules.check_application(party(), REFERRER, NOW, MOSCOW, V1)


def test_rule_1_code_of_a_non_member_is_not_found() -> None:
    with pytest.raises(errors.CodeNotFound):
        rules.check_application(party(), party(1, is_member=False), NOW, MOSCOW, V1)


def test_rule_1_code_of_a_closed_member_is_refused() -> None:
    with pytest.raises(errors.ReferrerClosed):
        rules.check_application(party(), party(1, is_member=True, active=False), NOW, MOSCOW, V1)


def test_rule_2_own_code_is_refused() -> None:
    me = party(1, is_member=True)
    with pytest.raises(errors.OwnCode):
        rules.check_application(me, me, NOW, MOSCOW, V1)


def test_rule_3_a_code_is_applied_once_in_a_life() -> None:
    with pytest.raises(errors.CodeAlreadyApplied):
        rules.check_application(party(is_member=True, referred_by=9), REFERRER, NOW, MOSCOW, V1)


def test_rule_4_no_two_client_cycle() -> None:
    referrer_via_me = party(1, is_member=True, referred_by=2)
    with pytest.raises(errors.CodeCycle):
        rules.check_application(party(2, is_member=True), referrer_via_me, NOW, MOSCOW, V1)


def test_rule_5_window_is_inclusive_of_registration_plus_one_month() -> None:
    referee = party(registered_at=msk("2023-03-20 09:00"))
    rules.check_application(referee, REFERRER, msk("2023-04-20 09:00"), MOSCOW, V1)
    with pytest.raises(errors.ApplyWindowClosed) as refused:
        rules.check_application(
            referee, REFERRER, msk("2023-04-20 09:00") + timedelta(seconds=1), MOSCOW, V1
        )
    assert "20.04.2023 09:00" in refused.value.message


def test_a_closed_client_cannot_apply_a_code() -> None:
    with pytest.raises(ClientClosed):
        rules.check_application(party(active=False), REFERRER, NOW, MOSCOW, V1)


def test_a_member_may_still_apply_within_the_window() -> None:
    rules.check_application(party(is_member=True), REFERRER, NOW, MOSCOW, V1)
    assert rules.can_still_apply(party(is_member=True), NOW, MOSCOW, V1)
    assert not rules.can_still_apply(party(referred_by=1), NOW, MOSCOW, V1)
    assert not rules.can_still_apply(party(), msk("2023-05-01 00:00"), MOSCOW, V1)


def test_every_refusal_speaks_russian() -> None:
    refusals = [
        ClientClosed(),
        errors.AlreadyMember(),
        errors.CodeMalformed(),
        errors.CodeNotFound(),
        errors.ReferrerClosed(),
        errors.OwnCode(),
        errors.CodeAlreadyApplied(),
        errors.CodeCycle(),
        errors.ApplyWindowClosed("01.01.2024", 1),
        ClientNotFound(5),
        errors.ActivationOutOfOrder("01.01.2024 10:00"),
    ]
    for refusal in refusals:
        assert any("а" <= ch <= "я" for ch in refusal.message.lower()), refusal
        assert "\n" not in refusal.message


# ---- grants --------------------------------------------------------------------------------


def test_referee_grant_without_promo_starts_at_activation() -> None:
    grant = rules.referee_grant(msk("2023-03-30 15:47"), None, MOSCOW, V1)
    assert (grant.percent, grant.reason, grant.level) == (20, "referee", None)
    assert grant.starts_at == msk("2023-03-30 15:47")
    assert show_moment(grant.ends_at, MOSCOW) == "29.06.2023 15:47"


def test_referee_grant_starts_after_the_promo_period() -> None:
    grant = rules.referee_grant(NOW, msk("2023-04-15 00:00"), MOSCOW, V1)
    assert grant.starts_at == msk("2023-04-15 00:00")
    assert show_moment(grant.ends_at, MOSCOW) == "14.07.2023 00:00"


def test_a_promo_period_already_over_does_not_delay_the_grant() -> None:
    assert rules.referee_grant(NOW, msk("2023-03-25 00:00"), MOSCOW, V1).starts_at == NOW


def test_ladder_table_is_the_help_pages() -> None:
    assert [(s.level, s.percent, s.months, s.sms_pack) for s in LADDER] == [
        (1, 20, 3, None),
        (2, 40, 6, None),
        (3, 60, 12, 1200),
        (4, 80, 12, None),
        (5, 100, 12, 3200),
    ]


def test_first_referral_gives_level_one() -> None:
    reward = rules.referrer_reward(None, 0, [], NOW, MOSCOW, V1)
    assert reward.close_at is None
    assert (reward.grant.level, reward.grant.percent, reward.grant.starts_at) == (1, 20, NOW)
    assert reward.sms_packs == ()


def test_level_up_while_a_grant_is_in_force_closes_it_at_the_new_activation() -> None:
    running = Grant(20, NOW, rules.period_end(NOW, 3, MOSCOW), "referrer", 1)
    later = msk("2023-03-31 10:30")
    reward = rules.referrer_reward(running, 1, [], later, MOSCOW, V1)
    assert reward.close_at == later
    assert (reward.grant.level, reward.grant.percent) == (2, 40)
    # 31.03 + 6 months clamps to 30.09; minus one day
    assert show_moment(reward.grant.ends_at, MOSCOW) == "29.09.2023 10:30"


def test_an_expired_grant_restarts_the_ladder_at_level_one() -> None:
    running = Grant(20, NOW, rules.period_end(NOW, 3, MOSCOW), "referrer", 1)
    reward = rules.referrer_reward(running, 1, [], running.ends_at, MOSCOW, V1)  # end is exclusive
    assert reward.close_at is None
    assert reward.grant.level == 1


def test_level_five_is_the_top() -> None:
    running = Grant(100, NOW, rules.period_end(NOW, 12, MOSCOW), "referrer", 5)
    reward = rules.referrer_reward(running, 7, [1200, 3200], msk("2023-04-01 10:00"), MOSCOW, V1)
    assert (reward.grant.level, reward.grant.percent, reward.sms_packs) == (5, 100, ())


def test_sms_packs_at_three_and_five_referred_clients_once_each() -> None:
    packs = [
        rules.referrer_reward(None, before, [], NOW, MOSCOW, V1).sms_packs for before in range(7)
    ]
    assert packs == [(), (), (1200,), (), (3200,), (), ()]
    assert rules.referrer_reward(None, 2, [1200], NOW, MOSCOW, V1).sms_packs == ()


def test_worked_example_of_the_rules() -> None:
    result = rules.ladder(
        [msk("2023-03-31 10:03"), msk("2023-03-31 10:30"), msk("2023-03-31 15:18")], MOSCOW, V1_AT
    )
    shown = [
        (g.percent, show_moment(g.starts_at, MOSCOW), show_moment(g.ends_at, MOSCOW))
        for g in result.grants
    ]
    assert shown == [
        (20, "31.03.2023 10:03", "31.03.2023 10:30"),
        (40, "31.03.2023 10:30", "31.03.2023 15:18"),
        (60, "31.03.2023 15:18", "30.03.2024 15:18"),
    ]
    assert result.sms_packs == ((1200, msk("2023-03-31 15:18")),)
    assert rules.discount_at(result.grants, msk("2023-04-01 12:00"), V1) == 60


def test_discount_is_the_sum_in_force_capped_at_100() -> None:
    start, end = msk("2023-04-01 00:00"), msk("2023-05-01 00:00")
    grants = [Grant(100, start, end, "referrer", 5), Grant(20, start, end, "referee")]
    assert rules.discount_at(grants, start, V1) == 100
    assert rules.discount_at(grants[1:], start, V1) == 20
    assert rules.discount_at(grants, start - timedelta(seconds=1), V1) == 0  # not started yet
    assert rules.discount_at(grants, end, V1) == 0  # end is exclusive
    assert rules.discount_at([], start, V1) == 0


# ---- properties ----------------------------------------------------------------------------

EPOCH = msk("2023-01-01 00:00")
gaps = st.lists(st.integers(min_value=0, max_value=400 * 24 * 60), min_size=0, max_size=14)


def _activations(minutes_apart: list[int]) -> list[datetime]:
    moments, at = [], EPOCH
    for gap in minutes_apart:
        at += timedelta(minutes=gap)
        moments.append(at)
    return moments


@settings(max_examples=300, deadline=None)
@given(gaps, st.integers(min_value=0, max_value=600 * 24 * 60))
def test_ladder_invariants(minutes_apart: list[int], probe_minutes: int) -> None:
    activations = _activations(minutes_apart)
    result = rules.ladder(activations, MOSCOW, V1_AT)
    grants = result.grants
    assert len(grants) == len(activations)
    for earlier, later in zip(grants, grants[1:], strict=False):
        assert earlier.ends_at <= later.starts_at  # referrer grants never overlap
    for grant, moment in zip(grants, activations, strict=True):
        assert grant.starts_at == moment
        assert grant.level is not None and 1 <= grant.level <= 5
        assert grant.percent == LADDER[grant.level - 1].percent
    sizes = [size for size, _ in result.sms_packs]
    assert sorted(sizes) == sorted(set(sizes))  # each pack at most once
    assert (1200 in sizes) == (len(activations) >= 3)
    assert (3200 in sizes) == (len(activations) >= 5)
    probe = EPOCH + timedelta(minutes=probe_minutes)
    assert sum(g.in_force(probe) for g in grants) <= 1
    assert 0 <= rules.discount_at(grants, probe, V1) <= 100


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from("ABC"), st.integers(0, 90 * 24 * 60)), max_size=15),
    st.randoms(use_true_random=False),
)
def test_unrelated_referrals_give_the_same_result_in_any_order(
    events: list[tuple[str, int]], shuffler: object
) -> None:
    """Activations of different referrers, interleaved in any order, give each the same ladder."""

    def per_referrer(order: list[tuple[str, int]]) -> dict[str, rules.LadderResult]:
        moments: dict[str, list[datetime]] = {}
        for who, minute in order:
            moments.setdefault(who, []).append(EPOCH + timedelta(minutes=minute))
        return {who: rules.ladder(ms, MOSCOW, V1_AT) for who, ms in moments.items()}

    shuffled = list(events)
    shuffler.shuffle(shuffled)  # type: ignore[attr-defined]
    assert per_referrer(events) == per_referrer(shuffled)


@settings(max_examples=200, deadline=None)
@given(gaps)
def test_fold_matches_step_by_step_rewards(minutes_apart: list[int]) -> None:
    """`ladder` is exactly `referrer_reward` applied in order (what the services do)."""
    activations = _activations(minutes_apart)
    grants: list[Grant] = []
    packs: list[int] = []
    for count, moment in enumerate(activations):
        reward = rules.referrer_reward(
            grants[-1] if grants else None, count, packs, moment, MOSCOW, V1
        )
        if reward.close_at is not None:
            g = grants[-1]
            grants[-1] = Grant(
                g.percent, g.starts_at, reward.close_at, g.reason, g.level, g.terms_version
            )
        grants.append(reward.grant)
        packs.extend(reward.sms_packs)
    assert tuple(grants) == rules.ladder(activations, MOSCOW, V1_AT).grants
