"""The program's tables. What must never break is a database constraint, not only a rule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from cabinet.clients.models import Client
from cabinet.db import UTCDateTime, db
from cabinet.referrals.rules import CODE_LENGTH, Step, TermsNumbers, Version

# A percent is a share of a price: whatever the terms, a grant is 1–100% of it.
PERCENT_BOUNDS = "BETWEEN 1 AND 100"
TERMS_STATES = ("draft", "published", "withdrawn")


class ProgramTerms(db.Model):  # type: ignore[name-defined,misc]
    """One version of the program's terms (docs/rules.md, «Версии условий»); `id` is its number.

    A draft is edited freely; a published version never changes again (grants and SMS packs
    name it), except that it may be withdrawn before it starts. Version 1, the help page's
    terms, is written by the migration that creates the table."""

    __tablename__ = "program_terms"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in TERMS_STATES) + ")", name="status_known"
        ),
        CheckConstraint(f"referee_percent {PERCENT_BOUNDS}", name="referee_percent_valid"),
        CheckConstraint(f"max_discount_percent {PERCENT_BOUNDS}", name="cap_valid"),
        CheckConstraint("referee_months >= 1 AND apply_window_months >= 1", name="months_valid"),
        CheckConstraint("ends_at IS NULL OR ends_at > effective_from", name="ends_after_start"),
        Index("ix_program_terms_status_from", "status", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    referee_percent: Mapped[int]
    referee_months: Mapped[int]
    apply_window_months: Mapped[int]
    max_discount_percent: Mapped[int]
    # [{"percent": 20, "months": 3, "sms_pack": null}, …]: level 1 first
    ladder: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(ForeignKey("managers.id"))

    def as_terms(self) -> TermsNumbers:
        return terms_from(*(getattr(self, c.key) for c in TERMS_COLUMNS))

    def as_version(self) -> Version:
        return version_from([getattr(self, c.key) for c in VERSION_COLUMNS])


# The columns a version of the terms is made of, in the order `terms_from` and `version_from`
# take them: a page reads them as columns (cabinet/referrals/queries.py), not as models.
TERMS_COLUMNS = (
    ProgramTerms.id,
    ProgramTerms.referee_percent,
    ProgramTerms.referee_months,
    ProgramTerms.ladder,
    ProgramTerms.apply_window_months,
    ProgramTerms.max_discount_percent,
)
VERSION_COLUMNS = (
    *TERMS_COLUMNS,
    ProgramTerms.effective_from,
    ProgramTerms.ends_at,
    ProgramTerms.title,
)


def terms_from(
    version: int,
    referee_percent: int,
    referee_months: int,
    ladder: list[dict[str, Any]],
    apply_window_months: int,
    max_discount_percent: int,
) -> TermsNumbers:
    return TermsNumbers(
        version=version,
        referee_percent=referee_percent,
        referee_months=referee_months,
        ladder=tuple(
            Step(level, int(s["percent"]), int(s["months"]), s.get("sms_pack"))
            for level, s in enumerate(ladder, start=1)
        ),
        apply_window_months=apply_window_months,
        max_discount_percent=max_discount_percent,
    )


def version_from(row: Sequence[Any]) -> Version:
    """A version of the terms from a row of VERSION_COLUMNS."""
    *terms, effective_from, ends_at, title = row
    return Version(terms_from(*terms), effective_from, ends_at, title)


def ladder_json(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    return [{"percent": s.percent, "months": s.months, "sms_pack": s.sms_pack} for s in steps]


class Member(db.Model):  # type: ignore[name-defined,misc]
    """A client that joined the program, with its personal code (never reused)."""

    __tablename__ = "members"
    __table_args__ = (CheckConstraint(f"length(code) = {CODE_LENGTH}", name="code_length"),)

    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(CODE_LENGTH), unique=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # «Сообщать мне по e-mail, когда друг применит мой код» (docs/invitations.md).
    notify_applied: Mapped[bool] = mapped_column(default=True, server_default=true())

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
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_valid"),
        CheckConstraint("ends_at >= starts_at", name="ends_after_start"),
        CheckConstraint(
            "(reason = 'referee' AND level IS NULL) OR (reason = 'referrer' AND level >= 1)",
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
    # The terms that made it: a later change of terms never touches a grant already given.
    terms_version: Mapped[int] = mapped_column(ForeignKey("program_terms.id"))


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
        CheckConstraint("size > 0", name="size_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("members.client_id"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("referrals.id"), index=True)
    size: Mapped[int]
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    terms_version: Mapped[int] = mapped_column(ForeignKey("program_terms.id"))
