"""Queueing an invitation (the outbox write) and the stop list."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, func, literal, select, text

from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db, is_postgresql, transaction
from cabinet.invitations import errors, messages, rules
from cabinet.invitations.callbacks import Inbound, Receipt
from cabinet.invitations.models import GatewayCallback, Invitation, StopListEntry
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
    context: Context,
    settings: InvitationSettings,
    member_id: int,
    channel: rules.Channel,
    raw_recipient: str,
    consent: bool,
    unsubscribe_url: Callable[[str], str],
    personal_link: Callable[[str], str],
    before_commit: Callable[[], None] | None = None,
    consent_ip: str | None = None,
    consent_text: str | None = None,
    refusal_link: Callable[[str], str] | None = None,
) -> Queued:
    """Validate, check the limits, and store the message; the worker sends it later.

    `personal_link` makes a code's link (/r/<code>), which both messages carry;
    `refusal_link` makes an SMS's refusal link from its token (/s/<token>: every SMS says
    how to refuse, so an SMS cannot be queued without it);
    `before_commit` adds to the same transaction (the audit entry of a manager acting in the
    member's cabinet). The consent is stored as given: the IP it came from and the exact
    words the member ticked (its moment is the invitation's `created_at`)."""
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
        now = context.clock.now()
        forms = rules.stored_forms(settings.contact_hash_key, recipient)
        token = rules.refusal_token(context.random_bytes(16)) if channel == "sms" else None
        usage = _usage(member_id, forms, now, context, max(joined_at, registered_at), token)
        rules.check_invitation(channel, consent, usage, now, settings.limits)
        terms = referral_queries.terms_at(now)
        if channel == "sms":
            if refusal_link is None:
                raise ValueError("an SMS needs its refusal link")
            while usage.token_taken:  # one in 10¹⁴: draw again
                token = rules.refusal_token(context.random_bytes(16))
                usage = replace(usage, token_taken=_token_taken(token))
            assert token is not None  # noqa: S101 - drawn above for every SMS
            payload = messages.sms_payload(
                recipient,
                code,
                terms,
                member_name,
                personal_link(code),
                refusal_link(token),
                settings.sms_sender,
            )
        else:
            link = unsubscribe_url(recipient)
            letter = messages.email(member_name, code, link, terms, personal_link(code))
            payload = messages.email_payload(recipient, letter, link, settings.unsubscribe_mailto)
        invitation = Invitation(
            key=context.new_key(),
            member_id=member_id,
            channel=channel,
            recipient=recipient,
            payload=json.dumps(payload, ensure_ascii=False),
            status="queued",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
            consent_ip=(consent_ip or None) and consent_ip[:45],
            consent_text=(consent_text or None) and consent_text[:300],
            refusal_token=token,
        )
        db.session.add(invitation)
        if before_commit is not None:
            before_commit()
        db.session.flush()
        invitation_id = invitation.id  # read before the commit expires it: no reload after
    return Queued(invitation_id, channel, recipient, rules.show_recipient(channel, recipient), now)


def _usage(
    member_id: int,
    recipient: tuple[str, str],
    now: datetime,
    context: Context,
    member_since: datetime,
    token: str | None = None,
) -> rules.Usage:
    """What the limits look at, in one statement (each count on its own index); with an SMS's
    refusal token, whether another invitation holds it already (in the same statement)."""
    today = rules.day_start(now, context.timezone)
    (
        member_sms_today,
        member_today,
        last_to_recipient,
        sms_today,
        opted_out,
        token_taken,
    ) = db.session.execute(
        select(
            _count(today, Invitation.member_id == member_id, Invitation.channel == "sms"),
            _count(today, Invitation.member_id == member_id),
            select(func.max(Invitation.created_at))
            .where(
                Invitation.recipient.in_(recipient),  # raw, or hashed after its time
                Invitation.kind == "invitation",
            )
            .scalar_subquery(),
            _count(today, Invitation.channel == "sms"),
            exists().where(StopListEntry.recipient.in_(recipient)),
            exists().where(Invitation.refusal_token == token) if token else literal(False),
        )
    ).one()
    return rules.Usage(
        member_since=member_since,
        member_sms_today=member_sms_today or 0,
        member_today=member_today or 0,
        last_to_recipient=last_to_recipient,
        sms_today=sms_today or 0,
        opted_out=bool(opted_out),
        token_taken=bool(token_taken),
    )


def _token_taken(token: str) -> bool:
    return bool(db.session.scalar(select(exists().where(Invitation.refusal_token == token))))


def _count(since: datetime, *conditions: Any) -> Any:
    """Invitations only: the members' own notices count toward no limit."""
    return (
        select(func.count())
        .select_from(Invitation)
        .where(*conditions, Invitation.kind == "invitation", Invitation.created_at >= since)
        .scalar_subquery()
    )


def opt_out(context: Context, recipient: str, source: str, hash_key: bytes = b"") -> bool:
    """Put a recipient on the stop list; False when it was there already (raw, or hashed
    after its retention)."""
    forms = rules.stored_forms(hash_key, recipient) if hash_key else (recipient,)
    with transaction():
        if db.session.scalar(select(exists().where(StopListEntry.recipient.in_(forms)))):
            return False
        db.session.add(
            StopListEntry(recipient=recipient, added_at=context.clock.now(), source=source)
        )
    return True


@dataclass(frozen=True)
class Refusal:
    """Whom an SMS's refusal link /s/<token> speaks for, as its page names it."""

    shown: str  # «номер +7 910 ***-**-67», or «этот номер» once the number is only a hash
    done: bool  # the number is on the stop list


def refusal(settings: InvitationSettings, token: str) -> Refusal:
    """What the refusal page shows (a read); RefusalLinkUnknown for a token no SMS carried."""
    recipient = _refusal_recipient(token)
    forms: tuple[str, ...] = (recipient,)
    if not recipient.startswith(rules.HASHED):
        forms = rules.stored_forms(settings.contact_hash_key, recipient)
    listed = db.session.scalar(select(exists().where(StopListEntry.recipient.in_(forms))))
    return Refusal(_shown_number(recipient), bool(listed))


def refuse(context: Context, settings: InvitationSettings, token: str) -> Refusal:
    """«Отказаться» on the refusal page: the SMS's number goes on the stop list (raw, or its
    hash once the invitation's contact was replaced by it); again changes nothing."""
    recipient = _refusal_recipient(token)
    if recipient.startswith(rules.HASHED):
        with transaction():
            if db.session.get(StopListEntry, recipient) is None:
                db.session.add(
                    StopListEntry(
                        recipient=recipient, added_at=context.clock.now(), source="sms link"
                    )
                )
    else:
        opt_out(context, recipient, "sms link", settings.contact_hash_key)
    return Refusal(_shown_number(recipient), True)


def _refusal_recipient(token: str) -> str:
    if not rules.is_refusal_token(token):
        raise errors.RefusalLinkUnknown()
    recipient = db.session.scalar(
        select(Invitation.recipient).where(
            Invitation.refusal_token == token, Invitation.channel == "sms"
        )
    )
    if recipient is None:
        raise errors.RefusalLinkUnknown()
    return str(recipient)


def _shown_number(recipient: str) -> str:
    if recipient.startswith(rules.HASHED):
        return "этот номер"
    return f"номер {rules.masked_phone(recipient)}"


def opt_in(recipient: str, hash_key: bytes = b"") -> bool:
    """Take a recipient off the stop list (support, at the recipient's request)."""
    forms = rules.stored_forms(hash_key, recipient) if hash_key else (recipient,)
    with transaction():
        entries = db.session.scalars(
            select(StopListEntry).where(StopListEntry.recipient.in_(forms))
        ).all()
        for entry in entries:
            db.session.delete(entry)
    return bool(entries)


def requeue_failed(
    context: Context,
    ids: list[int] | None = None,
    before_commit: Callable[[list[int]], None] | None = None,
) -> list[int]:
    """Put «не доставлено» messages back in the queue with fresh attempts (after an outage,
    by a manager or `flask invitations requeue`). The same Idempotency-Key goes with them, so
    a gateway that did keep a copy keeps one. Returns the ids requeued; `before_commit` adds
    to the same transaction (a manager's audit entry)."""
    with transaction():
        query = select(Invitation).where(
            Invitation.status == "failed",
            ~Invitation.recipient.startswith(rules.HASHED),  # its contact is gone: nothing to send
        )
        if ids is not None:
            query = query.where(Invitation.id.in_(ids))
        rows = db.session.scalars(query.order_by(Invitation.id).with_for_update()).all()
        now = context.clock.now()
        requeued = [row.id for row in rows]
        for row in rows:
            row.status, row.attempts, row.next_attempt_at = "queued", 0, now
            row.lease_until, row.lease_token = None, None
        if before_commit is not None and requeued:
            before_commit(requeued)
    return requeued


def _remember_callback(digest: str, now: datetime, window: float) -> None:
    """Refuse a signed request seen before (in the caller's transaction); forget the ones
    older than the window, which their timestamp refuses anyway."""
    db.session.execute(
        delete(GatewayCallback).where(
            GatewayCallback.received_at < now - timedelta(seconds=2 * window)
        )
    )
    if db.session.get(GatewayCallback, digest) is not None:
        raise errors.CallbackReplayed()
    db.session.add(GatewayCallback(digest=digest, received_at=now))


def record_receipt(context: Context, receipt: Receipt, digest: str, window: float) -> bool:
    """A gateway's delivery receipt for one message (by its Idempotency-Key). The first
    receipt of a message is its fate; the same or a later one changes nothing (False)."""
    with transaction():
        now = context.clock.now()
        _remember_callback(digest, now, window)
        row = db.session.scalars(
            select(Invitation).where(Invitation.key == receipt.key).with_for_update()
        ).first()
        if row is None:
            raise errors.CallbackUnknownMessage()
        if row.receipt is not None:
            return False
        row.receipt, row.receipt_at = receipt.status, now
    return True


def record_inbound(
    context: Context, settings: InvitationSettings, inbound: Inbound, digest: str, window: float
) -> bool:
    """An SMS a person sent back: «СТОП» puts the number on the stop list (True when added)."""
    try:
        phone = rules.normalise_phone(inbound.sender, settings.limits.sms_countries)
    except errors.InvitationRefusal as refusal:
        raise errors.CallbackMalformed() from refusal
    with transaction():
        now = context.clock.now()
        _remember_callback(digest, now, window)
        forms = rules.stored_forms(settings.contact_hash_key, phone)
        listed = db.session.scalar(select(exists().where(StopListEntry.recipient.in_(forms))))
        if not inbound.stop or listed:
            return False
        db.session.add(StopListEntry(recipient=phone, added_at=now, source="sms reply"))
    return True


@dataclass(frozen=True)
class Purged:
    invitations: int
    stop_list: int

    def __str__(self) -> str:
        return (
            f"контакты заменены хешем: приглашений {self.invitations}, "
            f"в стоп-листе {self.stop_list}"
        )


def purge_contacts(context: Context, settings: InvitationSettings, batch: int = 500) -> Purged:
    """Replace raw contacts whose time is up by their keyed hash (docs/privacy.md): an
    invitation's recipient once its fate has been known for `retention_days` (the receipt,
    else the sending, else the creation of a message that was never sent), with its payload
    emptied; a stop-list entry `retention_days` after it was added. Queued and sending
    messages keep theirs. Cool-downs, the stop list and conversion matching go on with the
    hash. Up to `batch` rows of each kind per call (the worker calls it again later)."""
    key = settings.contact_hash_key
    with transaction():
        before = rules.purge_before(context.clock.now(), settings.retention_days)
        known = func.coalesce(Invitation.receipt_at, Invitation.sent_at, Invitation.created_at)
        rows = db.session.scalars(
            select(Invitation)
            .where(
                Invitation.status.in_(("sent", "failed")),
                ~Invitation.recipient.startswith(rules.HASHED),
                known < before,
            )
            .order_by(Invitation.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.recipient = rules.contact_hash(key, row.recipient)
            row.payload = "{}"
        entries = db.session.scalars(
            select(StopListEntry)
            .where(
                ~StopListEntry.recipient.startswith(rules.HASHED), StopListEntry.added_at < before
            )
            .order_by(StopListEntry.recipient)
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        stop_list = 0
        for entry in entries:
            hashed = rules.contact_hash(key, entry.recipient)
            if db.session.get(StopListEntry, hashed) is None:
                db.session.add(
                    StopListEntry(recipient=hashed, added_at=entry.added_at, source=entry.source)
                )
            db.session.delete(entry)
            stop_list += 1
    return Purged(len(rows), stop_list)
