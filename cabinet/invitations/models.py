"""The outbox: an invitation is stored before any gateway is called, and kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.db import UTCDateTime, db, sql_values
from cabinet.invitations.rules import CHANNELS, RECEIPTS, REFUSAL_TOKEN_LENGTH, SOURCE_CHANNELS

STATUSES: tuple[str, ...] = ("queued", "sending", "sent", "failed")
# An invitation to a friend, or a notice to the member itself («Клиент … применил ваш код»):
# limits, the «Приглашения» tab and the dashboard look at invitations only.
KINDS: tuple[str, ...] = ("invitation", "notice")


class Invitation(db.Model):  # type: ignore[name-defined,misc]
    """One message to one friend. `key` is the Idempotency-Key, the same on every retry.

    `recipient` is the raw E.164 number or address until the message's fate is known plus
    `INVITEE_RETENTION_DAYS`; then a keyed hash (`rules.contact_hash`, «h:…») and the
    payload is emptied (docs/privacy.md)."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(f"channel IN ({sql_values(CHANNELS)})", name="channel_known"),
        CheckConstraint(f"status IN ({sql_values(STATUSES)})", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(f"receipt IN ({sql_values(RECEIPTS)})", name="receipt_known"),
        CheckConstraint(f"kind IN ({sql_values(KINDS)})", name="kind_known"),
        # The worker's claim: due messages in order.
        Index("ix_invitations_due", "status", "next_attempt_at"),
        # The member's list and its daily cap.
        Index("ix_invitations_member_created", "member_id", "created_at", "id"),
        # The per-recipient cool-down.
        Index("ix_invitations_recipient_created", "recipient", "created_at"),
        # The cabinet's daily SMS budget.
        Index("ix_invitations_channel_created", "channel", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(36), unique=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.client_id"))
    channel: Mapped[str] = mapped_column(String(5))
    kind: Mapped[str] = mapped_column(String(10), default="invitation", server_default="invitation")
    recipient: Mapped[str] = mapped_column(String(254))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body sent to the gateway
    status: Mapped[str] = mapped_column(String(7), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(36))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(300))
    receipt: Mapped[str | None] = mapped_column(String(13))
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The member's consent tick as given: its moment is `created_at` (the same request).
    consent_ip: Mapped[str | None] = mapped_column(String(45))
    consent_text: Mapped[str | None] = mapped_column(String(300))
    # The SMS's refusal link /s/<token> (an e-mail has its signed unsubscribe link instead).
    refusal_token: Mapped[str | None] = mapped_column(String(REFUSAL_TOKEN_LENGTH + 2), unique=True)


class StopListEntry(db.Model):  # type: ignore[name-defined,misc]
    """A recipient (E.164 number or e-mail) who asked not to receive invitations."""

    __tablename__ = "stop_list"

    recipient: Mapped[str] = mapped_column(String(254), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(20))


class GatewayCallback(db.Model):  # type: ignore[name-defined,misc]
    """A signed gateway callback already accepted (the SHA-256 of its signature), kept for the
    replay window: the same request again is refused."""

    __tablename__ = "gateway_callbacks"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ReferralChannel(db.Model):  # type: ignore[name-defined,misc]
    """The channel that brought an applied code, decided at the activation
    (`attribution.on_activation`): the referrer's invitation to the referee's e-mail or
    number (`invitation_id`), else the personal link it came through (link, QR code,
    messenger, share sheet). A referral without a row came by a code typed in."""

    __tablename__ = "referral_channels"
    __table_args__ = (
        CheckConstraint(f"channel IN ({sql_values(SOURCE_CHANNELS)})", name="channel_known"),
    )

    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(10))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id"))
