"""What a member sees: read-only queries, a fixed number of statements per call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, select, tuple_
from sqlalchemy.orm import aliased

from cabinet.clients import errors as client_errors
from cabinet.clients.models import Client
from cabinet.db import UTCDateTime, db
from cabinet.referrals import rules
from cabinet.referrals.models import Grant, Member, Referral, SmsPack


@dataclass(frozen=True)
class ReferredClient:
    id: int
    name: str
    activated_at: datetime
    referral_id: int

    @property
    def cursor(self) -> tuple[datetime, int]:
        return (self.activated_at, self.referral_id)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    percent: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    level: int | None
    revoked_at: datetime | None = None  # voided by a revocation: shown «отменена», never counts

    @property
    def cursor(self) -> tuple[datetime, int]:
        return (self.starts_at, self.id)

    @property
    def voided(self) -> bool:
        return self.revoked_at is not None

    def as_rule(self) -> rules.Grant:
        return rules.grant_of(self)


@dataclass(frozen=True)
class PackRow:
    size: int
    granted_at: datetime


@dataclass(frozen=True)
class Standing:
    """A client's place in the program at one moment (the page's header and the CLI's show)."""

    client_id: int
    client_name: str
    active: bool
    registered_at: datetime
    promo_until: datetime | None
    code: str | None
    referred_by: int | None  # whose code it applied, even if that referral was revoked since
    discount_percent: int
    referred_count: int
    in_force: tuple[HistoryRow, ...]
    upcoming: tuple[HistoryRow, ...]  # granted, not started yet (the promo period runs)

    @property
    def member(self) -> bool:
        return self.code is not None

    def party(self) -> rules.Party:
        return rules.Party(
            self.client_id,
            self.active,
            self.registered_at,
            self.promo_until,
            self.member,
            self.referred_by,
        )


def standing(client_id: int, at: datetime) -> Standing:
    """Two statements: the client with its code, referrer and count; its current grants."""
    referral = aliased(Referral)
    count = (
        select(func.count())
        .select_from(Referral)
        .where(Referral.referrer_id == Client.id, Referral.revoked_at.is_(None))
        .scalar_subquery()
    )
    row = db.session.execute(
        select(Client, Member.code, referral.referrer_id, count)
        .outerjoin(Member, Member.client_id == Client.id)
        .outerjoin(referral, referral.referee_id == Client.id)
        .where(Client.id == client_id)
    ).first()
    if row is None:
        raise client_errors.ClientNotFound(client_id)
    client, code, referred_by, referred_count = row
    current = [
        _history_row(g)
        for g in db.session.scalars(
            select(Grant)
            .where(Grant.client_id == client_id, Grant.ends_at > at, Grant.revoked_at.is_(None))
            .order_by(Grant.starts_at, Grant.id)
        )
    ]
    in_force = tuple(g for g in current if g.as_rule().in_force(at))
    return Standing(
        client_id=client.id,
        client_name=client.name,
        active=client.active,
        registered_at=client.registered_at,
        promo_until=client.promo_until,
        code=code,
        referred_by=referred_by,
        discount_percent=rules.discount_at((g.as_rule() for g in in_force), at),
        referred_count=referred_count or 0,
        in_force=in_force,
        upcoming=tuple(g for g in current if g.starts_at > at),
    )


Cursor = tuple[datetime, int]


def referred_clients(
    referrer_id: int,
    *,
    after: Cursor | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[ReferredClient]:
    """«Приведенные клиенты», keyset-paginated by (activation, referral id); revoked referrals
    are not listed."""
    key = tuple_(Referral.activated_at, Referral.id)
    stmt: Select[tuple[int, str, datetime, int]] = (
        select(Client.id, Client.name, Referral.activated_at, Referral.id)
        .join(Referral, Referral.referee_id == Client.id)
        .where(Referral.referrer_id == referrer_id, Referral.revoked_at.is_(None))
        .order_by(*_order(Referral.activated_at, Referral.id, newest_first))
    )
    if after is not None:
        stmt = stmt.where(_beyond(key, after, newest_first))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [ReferredClient(*row) for row in db.session.execute(stmt)]


def history(
    client_id: int,
    *,
    after: Cursor | None = None,
    limit: int | None = None,
    newest_first: bool = False,
) -> list[HistoryRow]:
    """«История скидок», keyset-paginated by (start, grant id). Grants voided by a revocation
    are listed too (`voided`), so the page can show them as «отменена»; whoever adds grants up
    must leave them out (see `in_effect`)."""
    stmt = (
        select(Grant)
        .where(Grant.client_id == client_id)
        .order_by(*_order(Grant.starts_at, Grant.id, newest_first))
    )
    if after is not None:
        stmt = stmt.where(_beyond(tuple_(Grant.starts_at, Grant.id), after, newest_first))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_history_row(g) for g in db.session.scalars(stmt)]


def _order(moment: Any, row_id: Any, newest_first: bool) -> tuple[Any, Any]:
    return (moment.desc(), row_id.desc()) if newest_first else (moment, row_id)


def _beyond(key: Any, after: Cursor, newest_first: bool) -> Any:
    cursor = tuple_(literal(after[0], UTCDateTime()), literal(after[1]))
    return key < cursor if newest_first else key > cursor


def sms_packs(client_id: int) -> list[PackRow]:
    return [
        PackRow(size, granted_at)
        for size, granted_at in db.session.execute(
            select(SmsPack.size, SmsPack.granted_at)
            .where(SmsPack.client_id == client_id, SmsPack.revoked_at.is_(None))
            .order_by(SmsPack.granted_at, SmsPack.id)
        )
    ]


def in_effect(rows: Iterable[HistoryRow]) -> list[rules.Grant]:
    """The grants that count (voided ones left out), as the rules take them."""
    return [row.as_rule() for row in rows if not row.voided]


def _history_row(g: Grant) -> HistoryRow:
    return HistoryRow(g.id, g.percent, g.starts_at, g.ends_at, g.reason, g.level, g.revoked_at)
