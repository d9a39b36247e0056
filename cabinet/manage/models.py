from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.db import UTCDateTime, db


class Manager(db.Model):  # type: ignore[name-defined,misc]
    """A product manager or support engineer of the operator (never a client)."""

    __tablename__ = "managers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    session_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    # Flask-Login's user interface; the «m» keeps manager and client sessions apart.
    is_authenticated = True
    is_anonymous = False
    is_active = True

    def get_id(self) -> str:
        return f"m{self.id}.{self.session_version}"


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """Every manager action: who, when, what, about which client, and why."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_client_at", "client_id", "at"),
        CheckConstraint("length(action) > 0", name="action_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)  # the cabinet's clock (demo time in a demo)
    manager_id: Mapped[int] = mapped_column(ForeignKey("managers.id"))
    action: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[int | None] = mapped_column(index=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DemoClockSetting(db.Model):  # type: ignore[name-defined,misc]
    """The demo time machine's offset, shared by the web server and the worker processes."""

    __tablename__ = "demo_clock"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(default=0.0)
