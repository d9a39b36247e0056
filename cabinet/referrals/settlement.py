"""Make a referrer's rows equal what the rules say its referrals have earned, inside the
caller's transaction (no commit here): the earning rules (`earning.py`) decide where each
referral stands, `rules.recompute_ladder` turns the counting ones into the ladder.

Called after anything that can change what a referrer has earned, besides an activation that is
the latest moment of its ladder (services.py applies that one step by step): billing's payment
or closure of one of its referees (cabinet/billing/services.py), a revocation (revocation.py).
The caller holds the referrer's row lock (and the referee's), so nothing else settles the same
referrer meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from cabinet import events
from cabinet.clients.models import Client, Payment
from cabinet.clock import Context
from cabinet.db import db
from cabinet.referrals import earning, queries, rules
from cabinet.referrals.models import Grant, Referral, SmsPack
from cabinet.referrals.services import grant_data, grant_row, pack_data


@dataclass(frozen=True)
class Settled:
    """What settling changed: referral ids that started counting or were taken back (or came
    back), grants voided and issued, SMS pack sizes reversed and granted."""

    qualified: tuple[int, ...] = ()
    clawed_back: tuple[int, ...] = ()
    grants_voided: tuple[int, ...] = ()
    grants_issued: tuple[int, ...] = ()
    sms_packs_reversed: tuple[int, ...] = ()
    sms_packs_granted: tuple[int, ...] = ()


def facts(referrer_id: int, schedule: rules.Schedule) -> list[tuple[Referral, earning.Facts]]:
    """Every referral of the referrer, with what the earning rules need (three statements)."""
    referrals = list(
        db.session.scalars(
            select(Referral)
            .where(Referral.referrer_id == referrer_id)
            .order_by(Referral.activated_at, Referral.id)
            .execution_options(populate_existing=True)
        )
    )
    referee_ids = [r.referee_id for r in referrals]
    clients = {
        row.id: row
        for row in db.session.execute(
            select(Client.id, Client.promo_until, Client.closed_at).where(
                Client.id.in_(referee_ids)
            )
        )
    }
    paid: dict[int, list[datetime]] = {}
    for client_id, paid_at in db.session.execute(
        select(Payment.client_id, Payment.paid_at).where(Payment.client_id.in_(referee_ids))
    ):
        paid.setdefault(client_id, []).append(paid_at)
    result = []
    for referral in referrals:
        terms = schedule.at(referral.activated_at)
        client = clients[referral.referee_id]
        result.append(
            (
                referral,
                earning.Facts(
                    referral_id=referral.id,
                    activated_at=referral.activated_at,
                    revoked=referral.revoked_at is not None,
                    reward_on=terms.reward_on,
                    clawback_days=terms.clawback_days,
                    promo_until=client.promo_until,
                    payments=tuple(paid.get(referral.referee_id, ())),
                    closed_at=client.closed_at,
                ),
            )
        )
    return result


def settle(context: Context, referrer_id: int, now: datetime) -> Settled:
    """Recompute where each of the referrer's referrals stands and its ladder from them;
    write what differs (voided grants and reversed packs kept, with `revoked_at = now`) and the
    feed's events. The referrer's row must be locked by the caller."""
    schedule = queries.schedule()
    zone = context.timezone
    known = facts(referrer_id, schedule)
    qualified: list[Referral] = []
    clawed: list[tuple[Referral, int]] = []
    for referral, fact in known:
        if fact.revoked:
            continue
        where = earning.standing(fact)
        was_clawed = referral.clawed_back_at is not None
        if referral.qualified_at != where.qualified_at or (
            was_clawed and where.clawed_back_at is None
        ):
            referral.qualified_at = where.qualified_at
            if where.qualified_at is not None and where.clawed_back_at is None:
                qualified.append(referral)
        if referral.clawed_back_at != where.clawed_back_at:
            referral.clawed_back_at = where.clawed_back_at
            referral.clawback_reason = where.clawback_reason
            if where.clawed_back_at is not None:
                clawed.append((referral, fact.clawback_days))

    held, packs = held_rewards(referrer_id)
    plan = rules.recompute_ladder(
        (rules.HeldGrant(g.id, g.referral_id, rules.grant_of(g)) for g in held),
        (p.size for p in packs),
        earning.counting(fact for _, fact in known),
        zone,
        # Each counting referral is replayed under the terms in force at the moment it started
        # counting, so the grants it already has are kept as they are.
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
    granted_packs = [
        SmsPack(
            client_id=referrer_id,
            referral_id=referral_id,
            size=size,
            granted_at=moment,
            terms_version=schedule.at(moment).version,
        )
        for referral_id, size, moment in plan.grant_packs
    ]
    db.session.add_all(granted_packs)
    db.session.flush()

    for referral in qualified:
        events.record(
            context,
            "referral_qualified",
            client_id=referrer_id,
            at=now,
            data={
                "referral_id": referral.id,
                "referrer_id": referrer_id,
                "referee_id": referral.referee_id,
                "activated_at": referral.activated_at,
                "qualified_at": referral.qualified_at,
            },
        )
    for referral, days in clawed:
        events.record(
            context,
            "reward_clawed_back",
            client_id=referrer_id,
            at=now,
            data={
                "referral_id": referral.id,
                "referrer_id": referrer_id,
                "referee_id": referral.referee_id,
                "qualified_at": referral.qualified_at,
                "clawed_back_at": referral.clawed_back_at,
                "reason": referral.clawback_reason,
                "clawback_days": days,
            },
        )
    record_ladder_events(context, now, voided, issued, reversed_packs, granted_packs)
    return Settled(
        qualified=tuple(r.id for r in qualified),
        clawed_back=tuple(r.id for r, _ in clawed),
        grants_voided=tuple(g.id for g in voided),
        grants_issued=tuple(g.id for g in issued),
        sms_packs_reversed=tuple(p.size for p in reversed_packs),
        sms_packs_granted=tuple(p.size for p in granted_packs),
    )


def record_ladder_events(
    context: Context,
    now: datetime,
    voided: list[Grant],
    issued: list[Grant],
    reversed_packs: list[SmsPack],
    granted_packs: list[SmsPack],
) -> None:
    for grant in voided:
        events.record(
            context,
            "grant_revoked",
            client_id=grant.client_id,
            at=now,
            data={**grant_data(grant), "revoked_at": now},
        )
    for grant in issued:
        events.record(
            context, "grant_issued", client_id=grant.client_id, at=now, data=grant_data(grant)
        )
    for pack in reversed_packs:
        events.record(
            context,
            "sms_pack_revoked",
            client_id=pack.client_id,
            at=now,
            data={**pack_data(pack), "revoked_at": now},
        )
    for pack in granted_packs:
        events.record(
            context, "sms_pack_granted", client_id=pack.client_id, at=now, data=pack_data(pack)
        )


def held_rewards(referrer_id: int) -> tuple[list[Grant], list[SmsPack]]:
    """The referrer's grants and SMS packs in force, in the order they were given."""
    held = list(
        db.session.scalars(
            select(Grant)
            .where(
                Grant.client_id == referrer_id,
                Grant.reason == "referrer",
                Grant.revoked_at.is_(None),
            )
            .order_by(Grant.starts_at, Grant.id)
        )
    )
    packs = list(
        db.session.scalars(
            select(SmsPack)
            .where(SmsPack.client_id == referrer_id, SmsPack.revoked_at.is_(None))
            .order_by(SmsPack.granted_at, SmsPack.id)
        )
    )
    return held, packs
