"""The audit log: every manager action, written in the action's own transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from cabinet.audit.models import AuditEntry
from cabinet.auth.models import Manager
from cabinet.clock import SystemClock
from cabinet.db import db


def record(
    at: datetime,
    manager_id: int,
    action: str,
    *,
    client_id: int | None = None,
    reason: str = "",
    details: dict[str, Any] | None = None,
    recorded_at: datetime | None = None,
) -> None:
    """Add an entry to the caller's transaction (the caller commits).

    `at` is the cabinet's clock (the demo time in a demo); `recorded_at` the real moment of
    writing (the system time unless given), which orders the log: after the time machine has
    moved back, the latest action is still listed first."""
    db.session.add(
        AuditEntry(
            at=at,
            recorded_at=recorded_at or SystemClock().now(),
            manager_id=manager_id,
            action=action,
            client_id=client_id,
            reason=reason,
            details=details or {},
        )
    )


@dataclass(frozen=True)
class AuditLine:
    at: datetime  # the cabinet's clock
    recorded_at: datetime  # real time
    manager: str
    action: str
    client_id: int | None
    reason: str
    details: dict[str, Any]


def entries(client_id: int | None = None, limit: int = 50) -> list[AuditLine]:
    stmt = (
        select(AuditEntry, Manager.name)
        .join(Manager, Manager.id == AuditEntry.manager_id)
        .order_by(AuditEntry.recorded_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    if client_id is not None:
        stmt = stmt.where(AuditEntry.client_id == client_id)
    return [
        AuditLine(e.at, e.recorded_at, name, e.action, e.client_id, e.reason, dict(e.details or {}))
        for e, name in db.session.execute(stmt)
    ]
