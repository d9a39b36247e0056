"""When a referrer's reward is earned, and when it is taken back (docs/rules.md, «Награда после
первой оплаты»). Pure functions over plain values, like rules.py: no Flask, no database.

Each referral is governed by the version of the terms in force at its activation (the one its
referee's welcome grant names):

* `reward_on = "activation"` (version 1, the help page): the referral counts on the referrer's
  ladder from its activation;
* `reward_on = "first_payment"`: it counts from the referee's first payment made after the
  referee's promo period ended (`paid_at >= promo_until`; any payment when there is no promo
  period) and before its contract closed — but never before the activation: a payment made
  before the code was applied qualifies the referral at the activation. Until then it waits.

`clawback_days > 0`: when the referee's contract closes less than that many days (of 24 hours)
after the referral started counting, the referral stops counting at all, as a revoked one does.

A referrer's grants are always `rules.ladder()` over the moments its counting referrals started
counting, in that order (ties by referral id): a late payment or a closure recomputes the ladder
from the moment it changes, with `rules.recompute_ladder`, exactly as a revocation does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from cabinet.referrals.rules import ClawbackReason, RewardOn


@dataclass(frozen=True)
class Facts:
    """What the earning rules need to know about one referral and its referee."""

    referral_id: int
    activated_at: datetime
    revoked: bool
    reward_on: RewardOn  # of the terms in force at the activation
    clawback_days: int  # of the same terms
    promo_until: datetime | None  # the referee's promo period
    payments: tuple[datetime, ...]  # the referee's payments' `paid_at`
    closed_at: datetime | None  # the referee's contract closure


@dataclass(frozen=True)
class Standing:
    """Where a referral stands: `qualified_at` None — the reward waits for the first payment."""

    qualified_at: datetime | None
    clawed_back_at: datetime | None = None
    clawback_reason: ClawbackReason | None = None

    @property
    def counts(self) -> bool:
        return self.qualified_at is not None and self.clawed_back_at is None

    @property
    def waits(self) -> bool:
        return self.qualified_at is None


def qualifying_payment(
    promo_until: datetime | None, payments: Iterable[datetime], closed_at: datetime | None
) -> datetime | None:
    """The first payment after the promo period ended and no later than the closure."""
    eligible = [
        paid
        for paid in payments
        if (promo_until is None or paid >= promo_until) and (closed_at is None or paid <= closed_at)
    ]
    return min(eligible, default=None)


def qualified_at(facts: Facts) -> datetime | None:
    """When the referral starts counting on the referrer's ladder (None: not yet)."""
    if facts.reward_on == "activation":
        return facts.activated_at
    paid = qualifying_payment(facts.promo_until, facts.payments, facts.closed_at)
    return None if paid is None else max(paid, facts.activated_at)


def clawback_ends(qualified: datetime, clawback_days: int) -> datetime | None:
    """Until when a closure takes the reward back (exclusive); None: it never does."""
    return None if clawback_days <= 0 else qualified + timedelta(days=clawback_days)


def standing(facts: Facts) -> Standing:
    qualified = qualified_at(facts)
    if qualified is None or facts.closed_at is None:
        return Standing(qualified)
    ends = clawback_ends(qualified, facts.clawback_days)
    if ends is not None and qualified <= facts.closed_at < ends:
        return Standing(qualified, facts.closed_at, "contract_closed")
    return Standing(qualified)


def counting(referrals: Iterable[Facts]) -> tuple[tuple[int, datetime], ...]:
    """(referral id, moment it started counting) of the referrals that count on the ladder
    (not revoked, qualified, not clawed back), in ladder order."""
    moments: list[tuple[int, datetime]] = []
    for facts in referrals:
        if facts.revoked:
            continue
        where = standing(facts)
        if where.counts and where.qualified_at is not None:
            moments.append((facts.referral_id, where.qualified_at))
    return tuple(sorted(moments, key=lambda m: (m[1], m[0])))


def pending_count(referrals: Iterable[Facts]) -> int:
    """How many referrals' rewards wait for the referee's first payment."""
    return sum(1 for f in referrals if not f.revoked and standing(f).waits)
