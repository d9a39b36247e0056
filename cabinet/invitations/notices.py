"""The member's notice «Клиент … применил ваш код»: queued through the invitations' outbox in
the activation's own transaction (so it goes exactly when the activation commits), delivered by
the same worker (HTTP gateway or SMTP, retries, idempotency key). A notice is `kind="notice"`:
no invitation limit, cool-down, «Приглашения» row or dashboard count sees it.

It is a transactional letter to our own customer about its own account, not a mailing: it
carries no `List-Unsubscribe` headers; the member turns it off in the cabinet
(«Сообщать мне по e-mail, когда друг применит мой код»). A member whose own address is on the
stop list (it unsubscribed, or its mail bounced hard) gets none."""

from __future__ import annotations

import json

from flask import current_app, has_app_context
from sqlalchemy import exists, select

from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.invitations import messages, rules
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.invitations.settings import InvitationSettings
from cabinet.referrals import queries as referral_queries
from cabinet.referrals import rules as referral_rules
from cabinet.referrals.models import Member
from cabinet.referrals.services import Activated
from cabinet.referrals.terms import timeline_words


def on_activation(context: Context, activated: Activated) -> None:
    """The listener the app registers (`referrals.services.on_activation`)."""
    if not has_app_context():  # pragma: no cover - services always run in the app's context
        return
    settings: InvitationSettings = current_app.extensions["invitations"]
    queue_applied_notice(context, settings, activated)


def queue_applied_notice(
    context: Context, settings: InvitationSettings, activated: Activated
) -> bool:
    """Queue the referrer's notice in the caller's transaction; False when none is due (the
    switch is off, the member has no sign-in e-mail, or its address is on the stop list)."""
    found = db.session.execute(
        select(Member.notify_applied, Client.email)
        .join(Client, Client.id == Member.client_id)
        .where(Member.client_id == activated.referrer_id)
    ).first()
    if found is None or not found.notify_applied or not found.email:
        return False
    to = str(found.email)
    forms = rules.stored_forms(settings.contact_hash_key, to)
    if db.session.scalar(select(exists().where(StopListEntry.recipient.in_(forms)))):
        return False
    now = activated.activated_at
    # «Ваша скидка» from now on as the member's page computes it, this activation's grant
    # included: grants that end at other moments make steps («40 % до …, затем 20 % до …»).
    standing = referral_queries.standing(activated.referrer_id, now, activated.terms)
    held = referral_queries.in_effect((*standing.in_force, *standing.upcoming))
    timeline = referral_rules.discount_timeline(held, now, lambda _: activated.terms)
    letter = messages.applied_notice(
        activated.referee_name,
        timeline_words(timeline, context.timezone),
        activated.reward,
        now,
        context.timezone,
    )
    db.session.add(
        Invitation(
            key=context.new_key(),
            member_id=activated.referrer_id,
            kind="notice",
            channel="email",
            recipient=to,
            payload=json.dumps(messages.email_payload(to, letter), ensure_ascii=False),
            status="queued",
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
    )
    return True


def set_switch(member_id: int, on: bool) -> bool:
    """The member's switch; False when the client is not a member."""
    with transaction():
        member = db.session.get(Member, member_id)
        if member is None:
            return False
        member.notify_applied = on
    return True
