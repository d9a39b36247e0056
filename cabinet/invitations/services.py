"""Queueing an invitation (the outbox write) and the stop list."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, text

from cabinet.clients.models import Client
from cabinet.clock import Program
from cabinet.db import db, is_postgresql, transaction
from cabinet.invitations import errors, messages, rules
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.invitations.settings import InvitationSettings
from cabinet.referrals import queries as referral_queries
from cabinet.referrals.models import Member

# Limits span members (cool-down per recipient, the SMS budget): invitation writes take one
# PostgreSQL advisory lock so two members cannot both pass a limit at once. (SQLite writers
# are already one at a time.)
_INVITATIONS_LOCK = 7_120_001


@dataclass(frozen=True)
class Queued:
    id: int
    channel: str
    recipient: str
    shown_recipient: str
    created_at: datetime


def invite(
    program: Program,
    settings: InvitationSettings,
    member_id: int,
    channel: rules.Channel,
    raw_recipient: str,
    consent: bool,
    unsubscribe_url: Callable[[str], str],
    personal_link: Callable[[str], str],
    before_commit: Callable[[], None] | None = None,
) -> Queued:
    """Validate, check the limits, and store the message; the worker sends it later.

    `personal_link` makes a code's link (/r/<code>), which both messages carry;
    `before_commit` adds to the same transaction (the audit entry of a manager acting in the
    member's cabinet)."""
    recipient = rules.normalise_recipient(channel, raw_recipient, settings.limits)
    with transaction():
        if is_postgresql():
            db.session.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": _INVITATIONS_LOCK}
            )
        found = db.session.execute(
            select(Member.code, Client.name, Member.joined_at, Client.registered_at)
            .join(Client, Client.id == Member.client_id)
            .where(Member.client_id == member_id, Client.status == "active")
        ).first()
        if found is None:
            raise errors.NotAMember()
        code, member_name, joined_at, registered_at = found
        now = program.clock.now()
        usage = _usage(member_id, recipient, now, program, max(joined_at, registered_at))
        rules.check_invitation(channel, consent, usage, now, settings.limits)
        terms = referral_queries.terms_at(now)
        if channel == "sms":
            payload = messages.sms_payload(
                recipient, code, terms, member_name, personal_link(code), settings.sms_sender
            )
        else:
            letter = messages.email(
                member_name, code, unsubscribe_url(recipient), terms, personal_link(code)
            )
            payload = messages.email_payload(recipient, letter)
        invitation = Invitation(
            key=program.new_key(),
            member_id=member_id,
            channel=channel,
            recipient=recipient,
            payload=json.dumps(payload, ensure_ascii=False),
            status="queued",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        db.session.add(invitation)
        if before_commit is not None:
            before_commit()
        db.session.flush()
        invitation_id = invitation.id  # read before the commit expires it: no reload after
    return Queued(invitation_id, channel, recipient, rules.show_recipient(channel, recipient), now)


def _usage(
    member_id: int, recipient: str, now: datetime, program: Program, member_since: datetime
) -> rules.Usage:
    """What the limits look at, in one statement (each count on its own index)."""
    today = rules.day_start(now, program.timezone)
    member_sms_today, member_today, last_to_recipient, sms_today, opted_out = db.session.execute(
        select(
            _count(today, Invitation.member_id == member_id, Invitation.channel == "sms"),
            _count(today, Invitation.member_id == member_id),
            select(func.max(Invitation.created_at))
            .where(Invitation.recipient == recipient)
            .scalar_subquery(),
            _count(today, Invitation.channel == "sms"),
            exists().where(StopListEntry.recipient == recipient),
        )
    ).one()
    return rules.Usage(
        member_since=member_since,
        member_sms_today=member_sms_today or 0,
        member_today=member_today or 0,
        last_to_recipient=last_to_recipient,
        sms_today=sms_today or 0,
        opted_out=bool(opted_out),
    )


def _count(since: datetime, *conditions: Any) -> Any:
    return (
        select(func.count())
        .select_from(Invitation)
        .where(*conditions, Invitation.created_at >= since)
        .scalar_subquery()
    )


def opt_out(program: Program, recipient: str, source: str) -> bool:
    """Put a recipient on the stop list; False when it was there already."""
    with transaction():
        if db.session.get(StopListEntry, recipient) is not None:
            return False
        db.session.add(
            StopListEntry(recipient=recipient, added_at=program.clock.now(), source=source)
        )
    return True


def opt_in(recipient: str) -> bool:
    """Take a recipient off the stop list (support, at the recipient's request)."""
    with transaction():
        entry = db.session.get(StopListEntry, recipient)
        if entry is None:
            return False
        db.session.delete(entry)
    return True


def requeue_failed(
    program: Program,
    ids: list[int] | None = None,
    before_commit: Callable[[list[int]], None] | None = None,
) -> list[int]:
    """Put «не доставлено» messages back in the queue with fresh attempts (after an outage,
    by a manager or `flask invitations requeue`). The same Idempotency-Key goes with them, so
    a gateway that did keep a copy keeps one. Returns the ids requeued; `before_commit` adds
    to the same transaction (a manager's audit entry)."""
    with transaction():
        query = select(Invitation).where(Invitation.status == "failed")
        if ids is not None:
            query = query.where(Invitation.id.in_(ids))
        rows = db.session.scalars(query.order_by(Invitation.id).with_for_update()).all()
        now = program.clock.now()
        requeued = [row.id for row in rows]
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "queued", 0, now
            row.lease_until, row.lease_token = None, None
        if before_commit is not None and requeued:
            before_commit(requeued)
    return requeued
