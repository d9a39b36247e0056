"""The program's tables. What must never break is a database constraint, not only a rule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cabinet.clients.models import Client
from cabinet.db import UTCDateTime, db
from cabinet.referrals.rules import CODE_LENGTH, MAX_DISCOUNT_PERCENT, SMS_PACK_SIZES, TOP_LEVEL


class Member(db.Model):  # type: ignore[name-defined,misc]
    """A client that joined the program, with its personal code (never reused)."""

    __tablename__ = "members"
    __table_args__ = (CheckConstraint(f"length(code) = {CODE_LENGTH}", name="code_length"),)

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)

    client: Mapped[Client] = relationship(back_populates="member")


class Referral(db.Model):  # type: ignore[name-defined,misc]
    """Referee applied referrer's code at `activated_at` («Код активирован»).

    A manager may revoke a fraudulent referral (cabinet/referrals/revocation.py): the row stays,
    with who revoked it, when and why, and no longer counts anywhere."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("referrer_id <> referee_id", name="not_self"),
        CheckConstraint(
            "(revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR "
            "(revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND length(revoke_reason) > 0)",
            name="revocation_complete",
        ),
        # «Приведенные клиенты» and the ladder read a referrer's referrals in activation order.
        Index("ix_referrals_referrer_activated", "referrer_id", "activated_at", "id"),
        # The count of referred clients on every page view reads only this (revoked left out).
        Index(
            "ix_referrals_referrer_live",
            "referrer_id",
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    referrer_id: Mapped[int] = mapped_column(ForeignKey("members.client_id"))
    # One referral per referee, ever.
    referee_id: Mapped[int] = mapped_column(ForeignKey("members.client_id"), unique=True)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    referee: Mapped[Member] = relationship(foreign_keys=[referee_id])


class Grant(db.Model):  # type: ignore[name-defined,misc]
    """A discount given to one member: «История скидок» lists them.

    `revoked_at` set: the grant was voided by a revocation (it never counts; kept for history)."""

    __tablename__ = "grants"
    __table_args__ = (
        CheckConstraint(f"percent > 0 AND percent <= {MAX_DISCOUNT_PERCENT}", name="percent_valid"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint(
            "(reason = 'referee' AND level IS NULL) OR "
            f"(reason = 'referrer' AND level BETWEEN 1 AND {TOP_LEVEL})",
            name="reason_level",
        ),
        Index("ix_grants_client_starts", "client_id", "starts_at", "id"),
        # The standing reads the grants not yet ended, not the whole history.
        Index("ix_grants_client_ends", "client_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("members.client_id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    reason: Mapped[str] = mapped_column(String(10))
    level: Mapped[int | None]
    percent: Mapped[int]
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsPack(db.Model):  # type: ignore[name-defined,misc]
    """A free SMS pack for a referrer; each size held at most once per client.

    `revoked_at` set: reversed because a revocation took the count back below its threshold;
    the size may be granted again when the count reaches it again."""

    __tablename__ = "sms_packs"
    __table_args__ = (
        Index(
            "uq_sms_packs_client_size_held",
            "client_id",
            "size",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        CheckConstraint(
            f"size IN ({', '.join(str(size) for size in SMS_PACK_SIZES)})", name="size_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("members.client_id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    size: Mapped[int]
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
