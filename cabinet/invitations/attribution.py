"""Which channel brought an applied code, decided once, in the activation's transaction, and
kept (`referral_channels`) for the dashboard's conversion by channel (docs/invitations.md):

1. an invitation: the referrer's latest invitation (a sent one before one that failed) to the
   referee's e-mail or number, queued before the activation; matched on the raw contact and
   on its keyed hash, so it holds after the contact was purged (docs/privacy.md);
2. else the personal link the code came through, when the code applied is the one a /r/ link
   left in the browser: the link as copied, its QR code, Telegram, WhatsApp or the share
   sheet (the link's `?via=` marker);
3. else nothing is kept: the code was typed in («код без приглашения»).

An invitation wins over a link: the SMS and the letter carry the /r/ link too."""

from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import case, select

from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations import rules
from cabinet.invitations.models import Invitation, ReferralChannel
from cabinet.invitations.settings import InvitationSettings
from cabinet.referrals.models import Referral
from cabinet.referrals.services import Activated


def on_activation(context: Context, activated: Activated) -> None:
    """The listener the app registers (`referrals.services.on_activation`)."""
    if not has_app_context():  # pragma: no cover - services always run in the app's context
        return
    settings: InvitationSettings = current_app.extensions["invitations"]
    record_invitation(settings.contact_hash_key, activated)


def record_invitation(hash_key: bytes, activated: Activated) -> str | None:
    """Keep the channel of the referrer's invitation to this referee, if there was one (in the
    caller's transaction); returns it. One statement: the referee is loaded already."""
    referee = db.session.get(Client, activated.referee_id)
    contacts = () if referee is None else (referee.email, referee.phone_e164)
    forms = [form for c in contacts if c for form in rules.stored_forms(hash_key, c)]
    if not forms:
        return None
    found = db.session.execute(
        select(Invitation.id, Invitation.channel)
        .where(
            Invitation.member_id == activated.referrer_id,
            Invitation.kind == "invitation",
            Invitation.recipient.in_(forms),
            Invitation.created_at <= activated.activated_at,
        )
        .order_by(
            case((Invitation.status == "sent", 0), else_=1),
            Invitation.created_at.desc(),
            Invitation.id.desc(),
        )
        .limit(1)
    ).first()
    if found is None:
        return None
    db.session.add(
        ReferralChannel(
            referral_id=activated.referral_id, channel=found.channel, invitation_id=found.id
        )
    )
    return str(found.channel)


def record_link(referee_id: int, via: str | None) -> str | None:
    """The code applied was the one a /r/ link left (`via`: its marker): keep the link's
    channel, unless an invitation was matched already (in the caller's transaction, after
    the activation). Returns the channel kept."""
    referral_id = db.session.scalar(
        select(Referral.id).where(Referral.referee_id == referee_id, Referral.revoked_at.is_(None))
    )
    if referral_id is None or db.session.get(ReferralChannel, referral_id) is not None:
        return None
    channel = rules.link_channel(via)
    db.session.add(ReferralChannel(referral_id=referral_id, channel=channel))
    return channel
