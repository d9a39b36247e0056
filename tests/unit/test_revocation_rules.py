"""Revoking a referral, as pure rules: the referrer's grants after a revocation are the ladder
of the activations that remain (docs/rules.md, «Отмена реферала»). No app, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.referrals import rules
from cabinet.referrals.rules import HELP_PAGE_SCHEDULE, HELP_PAGE_TERMS, Grant, HeldGrant
from tests.support.moments import MOSCOW, msk

V1 = HELP_PAGE_TERMS
V1_AT = HELP_PAGE_SCHEDULE.at


EPOCH = msk("2023-01-01 00:00")


@dataclass
class Ledger:
    """One referrer's rows as the database holds them, changed the way the services change
    them: `activate` is `services._apply_code`, `revoke` is `revocation.revoke_referral`."""

    activations: dict[int, datetime] = field(default_factory=dict)  # referral id → moment
    revoked: set[int] = field(default_factory=set)
    grants: dict[int, tuple[int, Grant]] = field(default_factory=dict)  # id → (referral, grant)
    voided: set[int] = field(default_factory=set)
    packs: set[int] = field(default_factory=set)
    next_id: int = 1

    def _new_grant(self, referral_id: int, grant: Grant) -> None:
        self.grants[self.next_id] = (referral_id, grant)
        self.next_id += 1

    def held(self) -> list[tuple[int, int, Grant]]:
        """(grant id, referral id, grant) of the grants not voided, by (start, id)."""
        rows = [(gid, rid, g) for gid, (rid, g) in self.grants.items() if gid not in self.voided]
        return sorted(rows, key=lambda row: (row[2].starts_at, row[0]))

    def remaining(self) -> list[datetime]:
        return sorted(m for rid, m in self.activations.items() if rid not in self.revoked)

    def activate(self, referral_id: int, at: datetime) -> None:
        held = self.held()
        running = held[-1] if held else None
        reward = rules.referrer_reward(
            None if running is None else running[2],
            len(self.remaining()),
            self.packs,
            at,
            MOSCOW,
            V1,
        )
        if reward.close_at is not None and running is not None:
            gid, rid, g = running
            self.grants[gid] = (
                rid,
                Grant(g.percent, g.starts_at, reward.close_at, g.reason, g.level, g.terms_version),
            )
        self.activations[referral_id] = at
        self._new_grant(referral_id, reward.grant)
        self.packs |= set(reward.sms_packs)

    def revoke(self, referral_id: int) -> rules.Recomputed:
        self.revoked.add(referral_id)
        plan = rules.recompute_ladder(
            (HeldGrant(gid, rid, g) for gid, rid, g in self.held()),
            self.packs,
            ((rid, m) for rid, m in self.activations.items() if rid not in self.revoked),
            MOSCOW,
            V1_AT,
        )
        self.voided |= set(plan.void)
        for rid, grant in plan.issue:
            self._new_grant(rid, grant)
        self.packs -= set(plan.reverse_packs)
        return plan


def _moments(minutes_apart: list[int]) -> list[datetime]:
    moments, at = [], EPOCH
    for gap in minutes_apart:
        at += timedelta(minutes=gap)
        moments.append(at)
    return moments


def _assert_is_the_ladder(ledger: Ledger) -> None:
    expected = rules.ladder(ledger.remaining(), MOSCOW, V1_AT)
    assert tuple(g for _, _, g in ledger.held()) == expected.grants
    assert ledger.packs == {size for size, _ in expected.sms_packs}


# Gaps of 0 (two activations at one moment), minutes, and up to 400 days (a ladder expires).
gaps = st.lists(
    st.one_of(st.just(0), st.integers(1, 120), st.integers(0, 400 * 24 * 60)),
    min_size=1,
    max_size=12,
)


@settings(max_examples=400, deadline=None)
@given(gaps, st.data())
def test_revoking_gives_the_ladder_without_the_revoked_activation(
    minutes_apart: list[int], data: st.DataObject
) -> None:
    ledger = Ledger()
    moments = _moments(minutes_apart)
    for n, at in enumerate(moments, start=1):
        ledger.activate(n, at)
    _assert_is_the_ladder(ledger)  # the services' step-by-step rows are the ladder
    revoked = data.draw(st.integers(1, len(moments)), label="revoked")
    before = ledger.held()
    plan = ledger.revoke(revoked)
    _assert_is_the_ladder(ledger)
    # Only what had to change changed: every grant of an activation before the revoked one stays,
    # except the one the revoked activation closed early.
    closed = [gid for gid, rid, g in before if rid < revoked and g.ends_at == moments[revoked - 1]]
    for gid, rid, _ in before:
        if rid < revoked and gid not in closed:
            assert gid not in plan.void
        if rid == revoked:
            assert gid in plan.void


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("activate"), st.one_of(st.just(0), st.integers(0, 200 * 24 * 60))),
            st.tuples(st.just("revoke"), st.integers(0, 1000)),
        ),
        max_size=16,
    )
)
def test_activations_and_revocations_in_any_mix_keep_the_ladder(
    steps: list[tuple[str, int]],
) -> None:
    """Later activations build on the recomputed rows: the rows stay the ladder of whatever
    activations remain, packs are taken back and given again as the count falls and climbs."""
    ledger = Ledger()
    at, next_referral = EPOCH, 1
    for action, value in steps:
        live = sorted(set(ledger.activations) - ledger.revoked)
        if action == "activate" or not live:
            at += timedelta(minutes=value if action == "activate" else 1)
            ledger.activate(next_referral, at)
            next_referral += 1
        else:
            ledger.revoke(live[value % len(live)])
        _assert_is_the_ladder(ledger)


def test_the_help_page_example_without_the_second_referee() -> None:
    """408, 401, 407 at 10:03, 10:30, 15:18; revoking 401 (10:30) gives 20% from 10:03 closed
    at 15:18 and 40% from 15:18 to 29.09.2023 15:18; the 1200 SMS pack goes back (2 referred)."""
    ledger = Ledger()
    for n, at in enumerate(["2023-03-31 10:03", "2023-03-31 10:30", "2023-03-31 15:18"], 1):
        ledger.activate(n, msk(at))
    plan = ledger.revoke(2)
    assert plan.reverse_packs == (1200,)
    assert [(g.percent, g.starts_at, g.ends_at) for _, _, g in ledger.held()] == [
        (20, msk("2023-03-31 10:03"), msk("2023-03-31 15:18")),
        (40, msk("2023-03-31 15:18"), msk("2023-09-29 15:18")),  # 31.03 + 6 months → 30.09
    ]
    # the 20% grant (closed at 10:30 by the revoked activation) is voided and issued again,
    # then closed by 407 at 15:18; 401's and 407's grants are voided and replaced
    assert plan.void == (1, 2, 3)
    assert [rid for rid, _ in plan.issue] == [1, 3]


def test_revoking_the_last_activation_restores_the_grant_it_closed() -> None:
    ledger = Ledger()
    ledger.activate(1, msk("2023-03-31 10:03"))
    ledger.activate(2, msk("2023-04-10 10:00"))
    plan = ledger.revoke(2)
    assert [(g.percent, g.ends_at) for _, _, g in ledger.held()] == [(20, msk("2023-06-29 10:03"))]
    assert plan.void == (1, 2) and plan.reverse_packs == ()


def test_revoking_an_activation_after_an_expired_ladder_keeps_the_earlier_grants() -> None:
    ledger = Ledger()
    ledger.activate(1, msk("2023-01-10 10:00"))
    ledger.activate(2, msk("2023-01-11 10:00"))  # 40%, closes the 20%
    ledger.activate(3, msk("2024-06-01 10:00"))  # the ladder had expired: 20% again
    plan = ledger.revoke(3)
    assert plan.void == (3,) and plan.issue == ()
    assert plan.reverse_packs == (1200,)
