"""The invitations a member sent, for the «Приглашения» tab."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import literal, select, tuple_

from cabinet.db import UTCDateTime, db
from cabinet.invitations.models import Invitation


@dataclass(frozen=True)
class SentInvitation:
    id: int
    channel: str
    recipient: str
    status: str
    created_at: datetime

    @property
    def cursor(self) -> tuple[datetime, int]:
        return (self.created_at, self.id)


def sent_by(
    member_id: int, *, after: tuple[datetime, int] | None = None, limit: int | None = None
) -> list[SentInvitation]:
    """Newest first, keyset-paginated by (created, id)."""
    stmt = (
        select(
            Invitation.id,
            Invitation.channel,
            Invitation.recipient,
            Invitation.status,
            Invitation.created_at,
        )
        .where(Invitation.member_id == member_id)
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    if after is not None:
        cursor = tuple_(literal(after[0], UTCDateTime()), literal(after[1]))
        stmt = stmt.where(tuple_(Invitation.created_at, Invitation.id) < cursor)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [SentInvitation(*row) for row in db.session.execute(stmt)]
