"""Managers: the operator's product managers and support engineers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, false
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
    # «Условия программы»: may edit, publish and withdraw versions of the terms.
    edits_program_terms: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The right to open a client's cabinet («Открыть как клиент»): support sees what the client
    # sees; acting there is allowed in demo mode only (cabinet/auth/roles.py).
    opens_client_cabinets: Mapped[bool] = mapped_column(default=False, server_default=false())
    # «Вебхуки»: may add and remove subscribers and send events again (docs/webhooks.md).
    manages_webhooks: Mapped[bool] = mapped_column(default=False, server_default=false())

    # Flask-Login's user interface; the «m» keeps manager and client sessions apart.
    is_authenticated = True
    is_anonymous = False
    is_active = True

    def get_id(self) -> str:
        return f"m{self.id}.{self.session_version}"
