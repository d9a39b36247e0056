"""When a referrer's reward is earned and when it is taken back, as pure rules (docs/rules.md,
«Награда после первой оплаты»). No app, no database."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.referrals import earning, rules
from cabinet.referrals.earning import Facts, Standing
from cabinet.referrals.rules import HELP_PAGE_SCHEDULE, HELP_PAGE_TERMS, Grant, HeldGrant

MOSCOW = ZoneInfo("Europe/Moscow")
V1_AT = HELP_PAGE_SCHEDULE.at


def msk(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=MOSCOW).astimezone(UTC)


EPOCH = msk("2023-01-01 00:00")


def facts(
    activated: str,
    *,
    reward_on: rules.RewardOn = "first_payment",
    clawback_days: int = 0,
    promo_until: str | None = None,
    payments: tuple[str, ...] = (),
    closed_at: str | None = None,
    referral_id: int = 1,
) -> Facts:
    return Facts(
        referral_id=referral_id,
        activated_at=msk(activated),
        revoked=False,
        reward_on=reward_on,
        clawback_days=clawback_days,
        promo_until=None if promo_until is None else msk(promo_until),
        payments=tuple(msk(p) for p in payments),
        closed_at=None if closed_at is None else msk(closed_at),
    )


def test_under_version_1_a_referral_counts_from_its_activation_whatever_billing_says() -> None:
    f = facts("2023-03-31 10:03", reward_on="activation", promo_until="2023-04-20 00:00")
    assert earning.standing(f) == Standing(msk("2023-03-31 10:03"))


def test_a_first_payment_reward_waits_until_the_referee_pays() -> None:
    f = facts("2023-03-31 10:03")
    assert earning.standing(f).waits
    paid = replace(f, payments=(msk("2023-04-05 12:00"),))
    assert earning.standing(paid) == Standing(msk("2023-04-05 12:00"))


def test_a_payment_inside_the_promo_period_does_not_qualify_the_first_after_it_does() -> None:
    f = facts(
        "2023-03-31 10:03",
        promo_until="2023-04-20 00:00",
        payments=("2023-04-01 09:00", "2023-04-19 23:59", "2023-05-03 11:00", "2023-04-25 08:00"),
    )
    assert earning.qualified_at(f) == msk("2023-04-25 08:00")  # the earliest after the promo
    assert earning.qualified_at(replace(f, payments=f.payments[:2])) is None


def test_a_payment_at_the_promo_periods_end_qualifies() -> None:
    f = facts("2023-03-31 10:03", promo_until="2023-04-20 00:00", payments=("2023-04-20 00:00",))
    assert earning.qualified_at(f) == msk("2023-04-20 00:00")


def test_a_payment_before_the_code_was_applied_qualifies_at_the_activation() -> None:
    f = facts("2023-03-31 10:03", payments=("2023-03-25 09:00",))
    assert earning.qualified_at(f) == msk("2023-03-31 10:03")


def test_a_payment_after_the_contract_closed_does_not_qualify() -> None:
    f = facts("2023-03-31 10:03", payments=("2023-05-02 09:00",), closed_at="2023-05-01 00:00")
    assert earning.standing(f).waits


@pytest.mark.parametrize(
    ("closed", "clawed"),
    [
        ("2023-04-05 12:00", True),  # the day it was earned
        ("2023-05-05 11:59", True),  # 30 days − 1 minute later
        ("2023-05-05 12:00", False),  # 30 days later: the window is over
        ("2023-07-01 00:00", False),
    ],
)
def test_a_closure_within_the_clawback_days_takes_the_reward_back(
    closed: str, clawed: bool
) -> None:
    f = facts(
        "2023-03-31 10:03", clawback_days=30, payments=("2023-04-05 12:00",), closed_at=closed
    )
    where = earning.standing(f)
    assert where.qualified_at == msk("2023-04-05 12:00")
    assert (where.clawed_back_at, where.clawback_reason) == (
        (msk(closed), "contract_closed") if clawed else (None, None)
    )
    assert where.counts is not clawed


def test_clawback_days_zero_never_takes_a_reward_back() -> None:
    f = facts("2023-03-31 10:03", reward_on="activation", closed_at="2023-03-31 10:04")
    assert earning.standing(f).counts


def test_clawback_also_holds_under_activation_terms_from_the_activation() -> None:
    f = facts(
        "2023-03-31 10:03", reward_on="activation", clawback_days=14, closed_at="2023-04-10 10:00"
    )
    assert earning.standing(f).clawed_back_at == msk("2023-04-10 10:00")


def test_the_help_pages_worked_example_under_version_1() -> None:
    """408, 401, 407 at 10:03, 10:30, 15:18 under version 1: 20% → 40% → 60% until 30.03.2024
    15:18, a 1200 SMS pack at 15:18; whatever billing reports about them."""
    example = [
        facts(
            at,
            reward_on="activation",
            referral_id=n,
            promo_until="2023-04-20 00:00",
            payments=(),
        )
        for n, at in enumerate(["2023-03-31 10:03", "2023-03-31 10:30", "2023-03-31 15:18"], 1)
    ]
    moments = [m for _, m in earning.counting(example)]
    result = rules.ladder(moments, MOSCOW, V1_AT)
    assert [(g.percent, g.starts_at, g.ends_at) for g in result.grants] == [
        (20, msk("2023-03-31 10:03"), msk("2023-03-31 10:30")),
        (40, msk("2023-03-31 10:30"), msk("2023-03-31 15:18")),
        (60, msk("2023-03-31 15:18"), msk("2024-03-30 15:18")),
    ]
    assert result.sms_packs == ((1200, msk("2023-03-31 15:18")),)
    assert earning.pending_count(example) == 0


def test_waiting_referrals_count_in_the_order_they_qualify_not_the_order_they_were_applied() -> (
    None
):
    """Three friends apply on 31.03 under first-payment terms; they pay on 10.04 (the third),
    12.04 (the first) and never (the second): the ladder is 20% from 10.04, 40% from 12.04;
    one reward waits."""
    referrals = [
        facts("2023-03-31 10:03", referral_id=1, payments=("2023-04-12 09:00",)),
        facts("2023-03-31 10:30", referral_id=2),
        facts("2023-03-31 15:18", referral_id=3, payments=("2023-04-10 18:00",)),
    ]
    assert earning.counting(referrals) == (
        (3, msk("2023-04-10 18:00")),
        (1, msk("2023-04-12 09:00")),
    )
    assert earning.pending_count(referrals) == 1
    grants = rules.ladder([m for _, m in earning.counting(referrals)], MOSCOW, V1_AT).grants
    assert [(g.percent, g.level, g.starts_at) for g in grants] == [
        (20, 1, msk("2023-04-10 18:00")),
        (40, 2, msk("2023-04-12 09:00")),
    ]


def test_a_recompute_grants_a_pack_the_count_reaches_late() -> None:
    """Two referrals count; a late payment makes a third count before the last: the 1200 SMS
    pack is granted at the moment the count reached three."""
    held = rules.ladder([msk("2023-04-01 10:00"), msk("2023-04-03 10:00")], MOSCOW, V1_AT)
    plan = rules.recompute_ladder(
        [HeldGrant(10 + n, n, g) for n, g in enumerate(held.grants, 1)],
        (),
        [(1, msk("2023-04-01 10:00")), (2, msk("2023-04-03 10:00")), (3, msk("2023-04-02 09:00"))],
        MOSCOW,
        V1_AT,
    )
    assert plan.grant_packs == ((2, 1200, msk("2023-04-03 10:00")),)
    # 1's 20% now closes at 3's payment, 3 gets 40%, and 2's 40% becomes the 60% of level 3
    assert plan.void == (11, 12)
    assert [(rid, g.percent) for rid, g in plan.issue] == [(1, 20), (3, 40), (2, 60)]


# ---- any sequence: the rows the services keep are the ladder from scratch -------------------


@dataclass
class Referee:
    referral_id: int
    activated_at: datetime
    reward_on: rules.RewardOn
    clawback_days: int
    promo_until: datetime | None
    payments: list[datetime] = field(default_factory=list)
    closed_at: datetime | None = None

    def facts(self) -> Facts:
        return Facts(
            self.referral_id,
            self.activated_at,
            False,
            self.reward_on,
            self.clawback_days,
            self.promo_until,
            tuple(self.payments),
            self.closed_at,
        )


@dataclass
class Ledger:
    """One referrer's rows as the database holds them, changed the way the services change
    them: `activate` is `services._apply_code` (the reward now, or waiting); `pay` and `close`
    are `billing.services` settling the referrer (`settlement.settle`)."""

    referees: dict[int, Referee] = field(default_factory=dict)
    grants: dict[int, tuple[int, Grant]] = field(default_factory=dict)  # id → (referral, grant)
    voided: set[int] = field(default_factory=set)
    packs: set[int] = field(default_factory=set)
    next_id: int = 1

    def held(self) -> list[tuple[int, int, Grant]]:
        rows = [(gid, rid, g) for gid, (rid, g) in self.grants.items() if gid not in self.voided]
        return sorted(rows, key=lambda row: (row[2].starts_at, row[0]))

    def _new_grant(self, referral_id: int, grant: Grant) -> None:
        self.grants[self.next_id] = (referral_id, grant)
        self.next_id += 1

    def all_facts(self) -> list[Facts]:
        return [r.facts() for r in self.referees.values()]

    def activate(self, referee: Referee) -> None:
        at = referee.activated_at
        counted = len(earning.counting(self.all_facts()))
        self.referees[referee.referral_id] = referee
        if not earning.standing(referee.facts()).counts:
            return  # the reward waits
        held = self.held()
        running = held[-1] if held else None
        reward = rules.referrer_reward(
            None if running is None else running[2], counted, self.packs, at, MOSCOW, TERMS
        )
        if reward.close_at is not None and running is not None:
            gid, rid, g = running
            self.grants[gid] = (rid, replace(g, ends_at=reward.close_at))
        self._new_grant(referee.referral_id, reward.grant)
        self.packs |= set(reward.sms_packs)

    def settle(self) -> None:
        plan = rules.recompute_ladder(
            (HeldGrant(gid, rid, g) for gid, rid, g in self.held()),
            self.packs,
            earning.counting(self.all_facts()),
            MOSCOW,
            V1_AT,
        )
        self.voided |= set(plan.void)
        for rid, grant in plan.issue:
            self._new_grant(rid, grant)
        self.packs -= set(plan.reverse_packs)
        self.packs |= {size for _, size, _ in plan.grant_packs}


TERMS = HELP_PAGE_TERMS


def assert_is_the_ladder_from_scratch(ledger: Ledger) -> None:
    moments = [m for _, m in earning.counting(ledger.all_facts())]
    expected = rules.ladder(moments, MOSCOW, V1_AT)
    assert tuple(g for _, _, g in ledger.held()) == expected.grants
    assert ledger.packs == {size for size, _ in expected.sms_packs}


minutes = st.one_of(st.just(0), st.integers(1, 24 * 60), st.integers(0, 200 * 24 * 60))
step = st.one_of(
    st.tuples(
        st.just("apply"),
        minutes,  # time passes before
        st.sampled_from(rules.REWARD_ON),
        st.sampled_from([0, 0, 30]),  # clawback days
        st.one_of(st.none(), st.integers(0, 60 * 24 * 60)),  # promo left, in minutes
    ),
    st.tuples(st.just("pay"), minutes, st.integers(0, 1000), st.integers(0, 90 * 24 * 60)),
    st.tuples(st.just("close"), minutes, st.integers(0, 1000), st.integers(0, 90 * 24 * 60)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(step, max_size=20))
def test_any_applications_payments_and_closures_keep_the_ladder_from_scratch(
    steps: list[tuple[object, ...]],
) -> None:
    """Payments arrive late (their moment up to 90 days back), closures too; referrals under
    either rule, with and without a clawback and a promo period: after every step the rows are
    the ladder of the referrals that count, in the order they qualified."""
    ledger = Ledger()
    now = EPOCH
    for action, passed, *rest in steps:
        assert isinstance(passed, int)
        now += timedelta(minutes=passed)
        if action == "apply":
            reward_on, days, promo = rest
            assert isinstance(days, int) and reward_on in rules.REWARD_ON
            referee = Referee(
                len(ledger.referees) + 1,
                now,
                "first_payment" if reward_on == "first_payment" else "activation",
                days,
                None if promo is None else now + timedelta(minutes=int(str(promo))),
            )
            ledger.activate(referee)
        else:
            live = [r for r in ledger.referees.values() if r.closed_at is None]
            if not live:
                continue
            which, back = rest
            assert isinstance(which, int) and isinstance(back, int)
            referee = live[which % len(live)]
            moment = max(referee.activated_at - timedelta(days=5), now - timedelta(minutes=back))
            if action == "pay":
                referee.payments.append(moment)
            else:
                referee.closed_at = max(moment, referee.activated_at)
            ledger.settle()
        assert_is_the_ladder_from_scratch(ledger)
