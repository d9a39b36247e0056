"""Revoking a fraudulent referral (a manager's support action): one transaction, history kept.

What happens (docs/rules.md, «Отмена реферала»), at the moment `now` of the program's clock:

* the referral is marked revoked (when, by which manager, why) and stops counting everywhere;
* the referee's grant from it: voided if it has not started yet (the promo period runs), closed
  at `now` if it is in force, left alone if it has already ended;
* the referrer's grants are made equal to `rules.ladder()` of its remaining activations
  (`rules.recompute_ladder`): grants that differ are voided (kept, with `revoked_at`) and the
  replay's grants are issued instead;
* SMS packs whose threshold the lifetime count no longer reaches are reversed (`revoked_at`);
* an audit entry for the referrer and one for the referee, then the feed's events, last.

Locks as in services.py: `with transaction()`, then both clients' rows in ID order, then the reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from cabinet import events
from cabinet.audit import services as audit
from cabinet.auth.errors import ManagerNotFound
from cabinet.auth.models import Manager
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.moments import show_moment
from cabinet.referrals import earning, errors, queries, rules, settlement
from cabinet.referrals.models import Grant, Referral, SmsPack
from cabinet.referrals.services import (
    grant_data,
    grant_row,
    lock_clients,
)

ACTION = "revoke_referral"
MAX_REASON = 2000

RefereeGrantOutcome = Literal["voided", "closed", "ended", "none"]


@dataclass(frozen=True)
class RevocationResult:
    referral_id: int
    referrer_id: int
    referee_id: int
    revoked_at: datetime
    referee_grant: RefereeGrantOutcome  # what became of the referee's grant
    grants_voided: tuple[int, ...]  # the referrer's grants replaced by the replay
    grants_issued: tuple[int, ...]  # the replay's grants, in activation order
    sms_packs_reversed: tuple[int, ...]  # sizes


def revoke_referral(
    context: Context, manager_id: int, referral_id: int, reason: str
) -> RevocationResult:
    """Revoke the referral on `manager_id`'s say-so, for `reason` (required); commit once."""
    why = reason.strip()
    if not why:
        raise errors.RevocationReasonRequired()
    why = why[:MAX_REASON]
    with transaction():
        result = _revoke(context, manager_id, referral_id, why)
    return result


def _revoke(context: Context, manager_id: int, referral_id: int, reason: str) -> RevocationResult:
    # The two clients of a referral never change, so reading them before the locks is safe.
    parties = db.session.execute(
        select(Referral.referrer_id, Referral.referee_id).where(Referral.id == referral_id)
    ).first()
    if parties is None:
        raise errors.ReferralNotFound(referral_id)
    referrer_id, referee_id = parties
    lock_clients([referrer_id, referee_id])
    referral = db.session.scalars(
        select(Referral).where(Referral.id == referral_id).execution_options(populate_existing=True)
    ).one()
    zone = context.timezone
    if referral.revoked_at is not None:
        raise errors.ReferralAlreadyRevoked(show_moment(referral.revoked_at, zone))
    if db.session.get(Manager, manager_id) is None:
        raise ManagerNotFound(manager_id)
    now = context.clock.now()
    if now < referral.activated_at:
        raise errors.RevocationBeforeActivation(show_moment(referral.activated_at, zone))

    referral.revoked_at = now
    referral.revoked_by = manager_id
    referral.revoke_reason = reason

    outcome, welcome = _end_referee_grant(referral_id, now)

    held, packs = settlement.held_rewards(referrer_id)
    schedule = queries.schedule()
    plan = rules.recompute_ladder(
        (rules.HeldGrant(g.id, g.referral_id, rules.grant_of(g)) for g in held),
        (p.size for p in packs),
        # The referrals that still count (the revoked one now left out), at the moments they
        # started counting (docs/rules.md, «Награда после первой оплаты»).
        earning.counting(fact for _, fact in settlement.facts(referrer_id, schedule)),
        zone,
        # Each remaining activation is replayed under the terms that were in force at its moment,
        # so the grants it already has are kept as they are.
        schedule.at,
    )
    to_void, to_reverse = set(plan.void), set(plan.reverse_packs)
    voided = [g for g in held if g.id in to_void]
    for grant in voided:
        grant.revoked_at = now
    issued = [grant_row(referrer_id, rid, grant) for rid, grant in plan.issue]
    db.session.add_all(issued)
    reversed_packs = [p for p in packs if p.size in to_reverse]
    for pack in reversed_packs:
        pack.revoked_at = now
    db.session.flush()

    details = {
        "referral_id": referral_id,
        "referrer_id": referrer_id,
        "referee_id": referee_id,
        "activated_at": referral.activated_at.isoformat(),
        "referee_grant": outcome,
        "grants_voided": [g.id for g in voided],
        "grants_issued": [g.id for g in issued],
        "sms_packs_reversed": [p.size for p in reversed_packs],
    }
    # Both clients' audit trails show the action (support looks a client up by either side).
    for client_id in (referrer_id, referee_id):
        audit.record(now, manager_id, ACTION, client_id=client_id, reason=reason, details=details)

    _record_events(context, referral, now, outcome, welcome, voided, issued, reversed_packs)
    return RevocationResult(
        referral_id=referral_id,
        referrer_id=referrer_id,
        referee_id=referee_id,
        revoked_at=now,
        referee_grant=outcome,
        grants_voided=tuple(g.id for g in voided),
        grants_issued=tuple(g.id for g in issued),
        sms_packs_reversed=tuple(p.size for p in reversed_packs),
    )


def _end_referee_grant(referral_id: int, now: datetime) -> tuple[RefereeGrantOutcome, Grant | None]:
    """Void the referee's grant if it has not started, close it at `now` if it is in force."""
    welcome = db.session.scalars(
        select(Grant).where(
            Grant.referral_id == referral_id,
            Grant.reason == "referee",
            Grant.revoked_at.is_(None),
        )
    ).first()
    if welcome is None:  # pragma: no cover - every activation gives one
        return "none", None
    if welcome.starts_at >= now:
        welcome.revoked_at = now
        return "voided", welcome
    if welcome.ends_at > now:
        welcome.ends_at = now
        return "closed", welcome
    return "ended", welcome


def _record_events(
    context: Context,
    referral: Referral,
    now: datetime,
    outcome: RefereeGrantOutcome,
    welcome: Grant | None,
    voided: list[Grant],
    issued: list[Grant],
    packs: list[SmsPack],
) -> None:
    """The feed's events, last thing before the commit (see cabinet/events)."""
    events.record(
        context,
        "referral_revoked",
        client_id=referral.referrer_id,
        at=now,
        data={
            "referral_id": referral.id,
            "referrer_id": referral.referrer_id,
            "referee_id": referral.referee_id,
            "activated_at": referral.activated_at,
            "revoked_at": now,
        },
    )
    if welcome is not None and outcome == "closed":
        events.record(
            context, "grant_closed", client_id=welcome.client_id, at=now, data=grant_data(welcome)
        )
    settlement.record_ladder_events(
        context,
        now,
        voided=([welcome] if welcome is not None and outcome == "voided" else []) + voided,
        issued=issued,
        reversed_packs=packs,
        granted_packs=[],
    )
