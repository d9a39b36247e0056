"""The invitations a member sent, for the «Приглашения» tab."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, and_, bindparam, or_, select, tuple_

from cabinet.clients.models import Client
from cabinet.db import UTCDateTime, read
from cabinet.invitations import rules
from cabinet.invitations.models import Invitation
from cabinet.referrals.models import Grant, Referral


@dataclass(frozen=True)
class SentInvitation:
    id: int
    channel: str
    recipient: str
    status: str
    created_at: datetime
    receipt: str | None = None
    applied: bool = False  # the friend applied this member's code (matched by contact)
    granted: bool = False  # and the member's discount came of it

    @property
    def fate(self) -> str:
        return rules.fate(self.status, self.receipt, self.applied, self.granted)

    @property
    def cursor(self) -> tuple[datetime, int]:
        return (self.created_at, self.id)


def sent_by(
    member_id: int,
    *,
    after: tuple[datetime, int] | None = None,
    limit: int | None = None,
    hash_key: bytes = b"",
) -> list[SentInvitation]:
    """Newest first, keyset-paginated by (created, id). A contact replaced by its hash
    (docs/privacy.md) is matched to the member's referees here, by their contacts' hashes
    (one more statement, only when the page shows such a row)."""
    params: dict[str, Any] = {"member_id": member_id}
    if after is not None:
        params["after_moment"], params["after_id"] = after
    if limit is not None:
        params["limit"] = limit
    rows = [
        SentInvitation(*row) for row in read(_page(after is not None, limit is not None), params)
    ]
    if hash_key and any(r.recipient.startswith(rules.HASHED) and not r.applied for r in rows):
        return _match_hashed(member_id, rows, hash_key)
    return rows


def _match_hashed(member_id: int, rows: list[SentInvitation], key: bytes) -> list[SentInvitation]:
    granted = (
        select(Grant.id)
        .where(
            Grant.referral_id == Referral.id,
            Grant.client_id == member_id,
            Grant.revoked_at.is_(None),
        )
        .exists()
    )
    referees = read(
        select(Client.email, Client.phone_e164, granted)
        .select_from(Referral)
        .join(Client, Client.id == Referral.referee_id)
        .where(Referral.referrer_id == member_id, Referral.revoked_at.is_(None)),
        {},
    )
    found: dict[str, bool] = {}
    for email, phone, with_grant in referees:
        for contact in (email, phone):
            if contact:
                hashed = rules.contact_hash(key, contact)
                found[hashed] = found.get(hashed, False) or bool(with_grant)
    return [
        replace(row, applied=True, granted=found[row.recipient]) if row.recipient in found else row
        for row in rows
    ]


def _converted(granted: bool) -> Any:
    """Whether the invited friend applied this member's code (a live referral whose referee
    has the invitation's address or number), and, with `granted`, whether the member's
    discount came of that referral."""
    query = (
        select(Referral.id)
        .join(Client, Client.id == Referral.referee_id)
        .where(
            Referral.referrer_id == Invitation.member_id,
            Referral.revoked_at.is_(None),
            or_(Client.email == Invitation.recipient, Client.phone_e164 == Invitation.recipient),
        )
    )
    if granted:
        query = query.join(
            Grant,
            and_(
                Grant.referral_id == Referral.id,
                Grant.client_id == Invitation.member_id,
                Grant.revoked_at.is_(None),
            ),
        )
    return query.exists()


# Built once for each shape and reused with new parameters (building costs more than running).
@cache
def _page(after: bool, limit: bool) -> Select[Any]:
    stmt = (
        select(
            Invitation.id,
            Invitation.channel,
            Invitation.recipient,
            Invitation.status,
            Invitation.created_at,
            Invitation.receipt,
            _converted(granted=False),
            _converted(granted=True),
        )
        .where(
            Invitation.member_id == bindparam("member_id", type_=Integer()),
            Invitation.kind == "invitation",  # the member's own notices are not invitations
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    )
    if after:
        cursor = tuple_(bindparam("after_moment", type_=UTCDateTime()), bindparam("after_id"))
        stmt = stmt.where(tuple_(Invitation.created_at, Invitation.id) < cursor)
    if limit:
        stmt = stmt.limit(bindparam("limit", type_=Integer()))
    return stmt
