"""The program dashboard's numbers, read from the database (a fixed number of statements);
the arithmetic is in `cabinet.dashboard.rules`."""

from __future__ import annotations

from datetime import datetime, time, tzinfo

from sqlalchemy import and_, case, func, select

from cabinet.clients.models import Client
from cabinet.dashboard import rules
from cabinet.db import db
from cabinet.invitations.models import Invitation, ReferralChannel
from cabinet.invitations.rules import Limits, day_start
from cabinet.referrals.models import Grant, Member, Referral, SmsPack

TOP_REFERRERS = 10


def build(now: datetime, zone: tzinfo, limits: Limits | None = None) -> rules.Dashboard:
    mondays = rules.week_mondays(now, zone)
    since = datetime.combine(mondays[0], time.min, zone)
    held = Referral.revoked_at.is_(None)
    activations = db.session.scalars(
        select(Referral.activated_at).where(
            Referral.activated_at >= since, Referral.activated_at <= now, held
        )
    )
    by_status = {
        (channel, status): n
        for channel, status, n in db.session.execute(
            select(Invitation.channel, Invitation.status, func.count())
            .where(Invitation.kind == "invitation")  # not the members' own notices
            .group_by(Invitation.channel, Invitation.status)
        )
    }
    grants = db.session.execute(
        select(Grant.percent, Grant.starts_at, Grant.ends_at).where(
            Grant.ends_at > now, Grant.revoked_at.is_(None)
        )
    )
    top = db.session.execute(
        select(Client.id, Client.name, func.count(Referral.id))
        .join(Referral, Referral.referrer_id == Client.id)
        .where(held)
        .group_by(Client.id, Client.name)
        .order_by(func.count(Referral.id).desc(), Client.id)
        .limit(TOP_REFERRERS)
    )
    delivered, converted = _conversion()
    conversion = rules.conversion_by_channel(_messages_by_channel(), _applied_by_channel())
    in_force, coming = rules.liability(
        ((percent, starts, ends) for percent, starts, ends in grants), now
    )
    return rules.Dashboard(
        now=now,
        clients=_count(select(func.count()).select_from(Client)),
        members=_count(select(func.count()).select_from(Member)),
        referrals=_count(select(func.count()).select_from(Referral).where(held)),
        weeks=rules.referrals_by_week(activations, mondays, zone),
        channels=rules.channel_stats(by_status),
        invitations_delivered=delivered,
        invitations_converted=converted,
        top=tuple(rules.TopReferrer(id_, name, n) for id_, name, n in top),
        liability_in_force=in_force,
        liability_coming=coming,
        sms_packs=tuple(
            (size, n)
            for size, n in db.session.execute(
                select(SmsPack.size, func.count())
                .where(SmsPack.revoked_at.is_(None))
                .group_by(SmsPack.size)
                .order_by(SmsPack.size)
            )
        ),
        sms_budget=None if limits is None else _sms_budget(now, zone, limits),
        conversion=conversion,
    )


def _sms_budget(now: datetime, zone: tzinfo, limits: Limits) -> rules.SmsBudget:
    per_member = db.session.execute(
        select(func.count(), func.max(Member.joined_at), func.max(Client.registered_at))
        .select_from(Invitation)
        .join(Member, Member.client_id == Invitation.member_id)
        .join(Client, Client.id == Invitation.member_id)
        .where(
            Invitation.channel == "sms",
            Invitation.kind == "invitation",
            Invitation.created_at >= day_start(now, zone),
        )
        .group_by(Invitation.member_id)
    ).all()
    return rules.sms_budget(
        ((count, max(joined, registered)) for count, joined, registered in per_member), now, limits
    )


def _count(stmt: object) -> int:
    return db.session.scalar(stmt) or 0  # type: ignore[call-overload]


def _conversion() -> tuple[int, int]:
    """Delivered invitations (one per member and recipient), and how many of them brought the
    recipient to apply the inviting member's code: the invitation a live referral's channel
    was matched to at its activation (raw contact or keyed hash, so a purge loses nothing)."""
    delivered = (
        select(Invitation.member_id, Invitation.recipient)
        .where(Invitation.status == "sent", Invitation.kind == "invitation")
        .distinct()
        .subquery()
    )
    converted = (
        select(Invitation.member_id, Invitation.recipient)
        .join(ReferralChannel, ReferralChannel.invitation_id == Invitation.id)
        .join(
            Referral,
            and_(Referral.id == ReferralChannel.referral_id, Referral.revoked_at.is_(None)),
        )
        .where(Invitation.status == "sent")
        .distinct()
        .subquery()
    )
    return (
        _count(select(func.count()).select_from(delivered)),
        _count(select(func.count()).select_from(converted)),
    )


def _messages_by_channel() -> dict[str, tuple[int, int]]:
    """Invitations per channel: taken by the gateway, and reported delivered."""
    return {
        channel: (int(sent or 0), int(delivered or 0))
        for channel, sent, delivered in db.session.execute(
            select(
                Invitation.channel,
                func.sum(case((Invitation.status == "sent", 1), else_=0)),
                func.sum(case((Invitation.receipt == "delivered", 1), else_=0)),
            )
            .where(Invitation.kind == "invitation")
            .group_by(Invitation.channel)
        )
    }


def _applied_by_channel() -> dict[str | None, tuple[int, int]]:
    """Live referrals per channel kept at their activation (None: a code typed in), and of
    them those the referrer's discount came of."""
    granted = (
        select(Grant.id)
        .where(
            Grant.referral_id == Referral.id,
            Grant.client_id == Referral.referrer_id,
            Grant.revoked_at.is_(None),
        )
        .exists()
    )
    return {
        channel: (int(applied), int(with_grant or 0))
        for channel, applied, with_grant in db.session.execute(
            select(
                ReferralChannel.channel,
                func.count(Referral.id),
                func.sum(case((granted, 1), else_=0)),
            )
            .select_from(Referral)
            .outerjoin(ReferralChannel, ReferralChannel.referral_id == Referral.id)
            .where(Referral.revoked_at.is_(None))
            .group_by(ReferralChannel.channel)
        )
    }
