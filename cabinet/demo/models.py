"""The demo's own rows: one start of a story and what it made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.db import UTCDateTime, db


class DemoRun(db.Model):  # type: ignore[name-defined,misc]
    """One start of a demo scenario: its fresh clients (role → client id) and the steps done."""

    __tablename__ = "demo_runs"
    __table_args__ = (Index("ix_demo_runs_story", "story", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    story: Mapped[str] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    clients: Mapped[dict[str, Any]] = mapped_column(JSON)
    steps_done: Mapped[list[Any]] = mapped_column(JSON)
    # the campaign the story «Сезонная акция» published, so the reset can take it back
    terms_version: Mapped[int | None] = mapped_column(ForeignKey("program_terms.id"))
