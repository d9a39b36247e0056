"""API tokens: one per calling system; only the SHA-256 of a token is kept."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.db import UTCDateTime, db


class ApiToken(db.Model):  # type: ignore[name-defined,misc]
    """A calling system's credential; revoked, it stays as a record (its name is not reused)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("length(name) > 0", name="name_not_empty"),
        CheckConstraint("length(token_hash) = 64", name="hash_length"),
        CheckConstraint("length(scopes) > 0", name="scopes_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256, hex
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Space-separated, from cabinet.api.tokens.SCOPES ("read billing").
    scopes: Mapped[str] = mapped_column(String(64))
    # Issued before scopes existed, given every scope by the migration: warned about.
    legacy_scopes: Mapped[bool] = mapped_column(default=False)

    @property
    def active(self) -> bool:
        return self.revoked_at is None
