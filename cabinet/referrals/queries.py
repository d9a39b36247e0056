"""What a member sees: read-only queries, a fixed number of statements per call."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Integer,
    Select,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from cabinet.clients import errors as client_errors
from cabinet.clients.models import Client, ClientRecord
from cabinet.db import UTCDateTime, db, read
from cabinet.referrals import rules
from cabinet.referrals.models import (
    VERSION_COLUMNS,
    Grant,
    Member,
    ProgramTerms,
    Referral,
    SmsPack,
    version_from,
)


@dataclass(frozen=True)
class ReferredClient:
    id: int
    name: str
    activated_at: datetime
    referral_id: int
    # None: the reward waits for the referee's first payment (docs/rules.md)
    qualified_at: datetime | None = None
    clawed_back_at: datetime | None = None  # the reward was taken back: the contract closed

    @property
    def cursor(self) -> tuple[datetime, int]:
        return (self.activated_at, self.referral_id)

    @property
    def waiting(self) -> bool:
        return self.qualified_at is None


@dataclass(frozen=True)
class HistoryRow:
    id: int
    percent: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    level: int | None
    revoked_at: datetime | None = None  # voided by a revocation: shown «отменена», never counts
    terms_version: int | None = None  # the version of the terms that made it
    campaign_ends_at: datetime | None = None  # made under a campaign: its end (history only)

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
    # of `referred_count`, those that do not count on the ladder: their reward waits for the
    # first payment, or was taken back (docs/rules.md, «Награда после первой оплаты»)
    not_counting: int = 0
    # the member's switch for the notice «Клиент … применил ваш код» (None: not a member)
    notify_applied: bool | None = None

    @property
    def ladder_count(self) -> int:
        """The lifetime count the ladder and the SMS packs go by."""
        return self.referred_count - self.not_counting

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


def schedule() -> rules.Schedule:
    """Every published version of the terms (one statement); `.at(moment)` gives the terms in
    force at a moment."""
    return rules.Schedule(tuple(version_from(row) for row in read(_published_terms())))


def terms_at(at: datetime) -> rules.TermsNumbers:
    """The terms in force at `at`."""
    return schedule().at(at)


@cache
def _published_terms() -> Select[Any]:
    return (
        select(*VERSION_COLUMNS)
        .where(ProgramTerms.status == "published")
        .order_by(ProgramTerms.effective_from, ProgramTerms.id)
    )


def standing(client_id: int, at: datetime, terms: rules.TermsNumbers | None = None) -> Standing:
    """Two statements: the client with its code, referrer and count; its current grants.
    (The signed-in client is already loaded: `standing_and_packs` does not load it again.)
    `terms` are the terms in force at `at` (their cap bounds «Ваша скидка»): a caller that has
    them passes them, otherwise they are read (one more statement)."""
    row = db.session.execute(_client_and_program(), {"client_id": client_id}).first()
    if row is None:
        raise client_errors.ClientNotFound(client_id)
    client, code, referred_by, referred_count, not_counting, notify = row
    return _standing(client, code, referred_by, referred_count, at, terms, not_counting, notify)


def standing_and_packs(
    client: ClientRecord, at: datetime, terms: rules.TermsNumbers | None = None
) -> tuple[Standing, list[PackRow]]:
    """The signed-in client's standing and the SMS packs it holds, in one indexed statement
    however long the history: the code, referrer and count of referred clients, the grants not
    yet ended, the packs (and the terms, unless the caller has them)."""
    standing, packs, _ = standing_packs_and_history(client, at, terms)
    return standing, packs


def standing_packs_and_history(
    client: ClientRecord,
    at: datetime,
    terms: rules.TermsNumbers | None = None,
    history_limit: int | None = None,
) -> tuple[Standing, list[PackRow], list[HistoryRow]]:
    """`standing_and_packs`, and with `history_limit` the first page of «История скидок» in
    the same statement (`history(client.id, limit=history_limit, newest_first=True)`): the
    full page's reads in one round trip."""
    params: dict[str, Any] = {"client_id": client.id, "at": at}
    if history_limit is not None:
        params["history_limit"] = history_limit
    rows = read(_program_grants_and_packs(history_limit is not None), params).all()
    program = rows[0][1 : 1 + _PROGRAM_COLUMNS]
    code, referred_by, referred_count, not_counting, notify = program
    grants = slice(1 + _PROGRAM_COLUMNS, 1 + _PROGRAM_COLUMNS + len(_GRANT_COLUMNS))
    current = [HistoryRow(*row[grants]) for row in rows if row[0] == 0 and row.id is not None]
    packs = [PackRow(row.pack_size, row.pack_granted_at) for row in rows if row[0] == 1]
    # The page comes oldest first in the statement's order: newest first is its reverse.
    history = [
        HistoryRow(*(*row[grants], row.campaign_ends_at)) for row in reversed(rows) if row[0] == 2
    ]
    standing = _standing(
        client, code, referred_by, referred_count, at, terms, not_counting, notify, current
    )
    return standing, packs, history


def member_code(client_id: int) -> str | None:
    """The personal code (None for a client that has not joined): one indexed statement."""
    code: str | None = read(_member_code(), {"client_id": client_id}).scalar()
    return code


def _standing(
    client: Client | ClientRecord,
    code: str | None,
    referred_by: int | None,
    referred_count: int | None,
    at: datetime,
    terms: rules.TermsNumbers | None,
    not_counting: int | None = 0,
    notify_applied: bool | None = None,
    current: list[HistoryRow] | None = None,
) -> Standing:
    if current is None:
        current = [
            HistoryRow(*row) for row in read(_current_grants(), {"client_id": client.id, "at": at})
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
        discount_percent=rules.discount_at(
            (g.as_rule() for g in in_force), at, terms_at(at) if terms is None else terms
        ),
        referred_count=referred_count or 0,
        in_force=in_force,
        upcoming=tuple(g for g in current if g.starts_at > at),
        not_counting=not_counting or 0,
        notify_applied=None if notify_applied is None else bool(notify_applied),
    )


# The statements are built once and reused with new parameters: building a SQLAlchemy
# statement costs more than running a small indexed query.
_CLIENT_ID: BindParameter[int] = bindparam("client_id", type_=Integer())


def _live_referrals_count() -> Any:
    # Counted in the partial index ix_referrals_referrer_live (revoked_at IS NULL).
    return (
        select(func.count())
        .select_from(Referral)
        .where(Referral.referrer_id == _CLIENT_ID, Referral.revoked_at.is_(None))
        .scalar_subquery()
    )


def _not_counting_count(referrer: Any) -> Any:
    """Live referrals whose reward waits or was taken back (few: read through the partial
    index of live referrals)."""
    return (
        select(func.count())
        .select_from(Referral)
        .where(
            Referral.referrer_id == referrer,
            Referral.revoked_at.is_(None),
            or_(Referral.qualified_at.is_(None), Referral.clawed_back_at.is_not(None)),
        )
        .scalar_subquery()
    )


@cache
def _client_and_program() -> Select[tuple[Client, str | None, int | None, int, int, bool]]:
    referral = aliased(Referral)
    count = (
        select(func.count())
        .select_from(Referral)
        .where(Referral.referrer_id == Client.id, Referral.revoked_at.is_(None))
        .scalar_subquery()
    )
    return (
        select(
            Client,
            Member.code,
            referral.referrer_id,
            count,
            _not_counting_count(Client.id),
            Member.notify_applied,
        )
        .outerjoin(Member, Member.client_id == Client.id)
        .outerjoin(referral, referral.referee_id == Client.id)
        .where(Client.id == _CLIENT_ID)
    )


@cache
def _program_of() -> Select[tuple[str | None, int | None, int, int, bool | None]]:
    return select(
        select(Member.code).where(Member.client_id == _CLIENT_ID).scalar_subquery(),
        select(Referral.referrer_id).where(Referral.referee_id == _CLIENT_ID).scalar_subquery(),
        _live_referrals_count(),
        _not_counting_count(_CLIENT_ID),
        select(Member.notify_applied).where(Member.client_id == _CLIENT_ID).scalar_subquery(),
    )


_PROGRAM_COLUMNS = 5  # code, referred_by, referred_count, not_counting, notify


@cache
def _program_grants_and_packs(with_history: bool = False) -> CompoundSelect[Any]:
    """One statement: part 0, `_program_of`'s one row joined to `_current_grants`' rows (at
    least one row: the grant's columns empty when there is none); part 1, the held SMS packs;
    `with_history`, part 2, the newest `:history_limit` rows of `_history_page`."""
    program = _program_of().subquery("program")
    pack_columns = (SmsPack.size, SmsPack.granted_at, SmsPack.id)
    labels = ("pack_size", "pack_granted_at", "pack_id")
    # A typed NULL: PostgreSQL types a UNION's column by its first parts, all NULL here.
    no_campaign = cast(null(), UTCDateTime())

    def empty(*columns: Any) -> list[Any]:
        return [type_coerce(null(), c.type) for c in columns]

    standing = select(
        literal(0).label("part"),
        *program.c,
        *_GRANT_COLUMNS,
        *(type_coerce(null(), c.type).label(n) for c, n in zip(pack_columns, labels, strict=True)),
        no_campaign.label("campaign_ends_at"),
    ).select_from(program.outerjoin(Grant, _current_grant()))
    packs = select(
        literal(1),
        *empty(*program.c, *_GRANT_COLUMNS),
        *pack_columns,
        no_campaign,
    ).where(SmsPack.client_id == _CLIENT_ID, SmsPack.revoked_at.is_(None))
    parts = [standing, packs]
    if with_history:
        page = (
            _history_page(False, False, True)
            .limit(bindparam("history_limit", type_=Integer()))
            .subquery("history_page")
        )
        grant_columns = list(page.c)[: len(_GRANT_COLUMNS)]
        parts.append(
            select(
                literal(2),
                *empty(*program.c),
                *grant_columns,
                *empty(*pack_columns),
                list(page.c)[len(_GRANT_COLUMNS)],
            )
        )
    order = ("part", "starts_at", "id", "pack_granted_at", "pack_id")
    return union_all(*parts).order_by(*(literal_column(name) for name in order))


@cache
def _member_code() -> Select[tuple[str]]:
    return select(Member.code).where(Member.client_id == _CLIENT_ID)


_GRANT_COLUMNS = (
    Grant.id,
    Grant.percent,
    Grant.starts_at,
    Grant.ends_at,
    Grant.reason,
    Grant.level,
    Grant.revoked_at,
    Grant.terms_version,
)


@cache
def _current_grants() -> Select[Any]:
    # ix_grants_client_ends: only the grants not yet ended are read, not the whole history.
    return select(*_GRANT_COLUMNS).where(_current_grant()).order_by(Grant.starts_at, Grant.id)


def _current_grant() -> Any:
    """Client `:client_id`'s grant, not ended at `:at` and not revoked."""
    return and_(
        Grant.client_id == _CLIENT_ID,
        Grant.ends_at > bindparam("at", type_=UTCDateTime()),
        Grant.revoked_at.is_(None),
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
    stmt = _referred_page(after is not None, limit is not None, newest_first)
    return [ReferredClient(*row) for row in read(stmt, _page_params(referrer_id, after, limit))]


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
    stmt = _history_page(after is not None, limit is not None, newest_first)
    return [HistoryRow(*row) for row in read(stmt, _page_params(client_id, after, limit))]


def _page_params(client_id: int, after: Cursor | None, limit: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"client_id": client_id}
    if after is not None:
        params["after_moment"], params["after_id"] = after
    if limit is not None:
        params["limit"] = limit
    return params


@cache
def _referred_page(after: bool, limit: bool, newest_first: bool) -> Select[Any]:
    stmt = (
        select(
            Client.id,
            Client.name,
            Referral.activated_at,
            Referral.id,
            Referral.qualified_at,
            Referral.clawed_back_at,
        )
        .join(Referral, Referral.referee_id == Client.id)
        .where(Referral.referrer_id == _CLIENT_ID, Referral.revoked_at.is_(None))
        .order_by(*_order(Referral.activated_at, Referral.id, newest_first))
    )
    return _paged(stmt, tuple_(Referral.activated_at, Referral.id), after, limit, newest_first)


@cache
def _history_page(after: bool, limit: bool, newest_first: bool) -> Select[Any]:
    # The version that made each grant, for its end: a campaign's rows say so (one statement).
    stmt = (
        select(*_GRANT_COLUMNS, ProgramTerms.ends_at)
        .outerjoin(ProgramTerms, ProgramTerms.id == Grant.terms_version)
        .where(Grant.client_id == _CLIENT_ID)
        .order_by(*_order(Grant.starts_at, Grant.id, newest_first))
    )
    return _paged(stmt, tuple_(Grant.starts_at, Grant.id), after, limit, newest_first)


def _paged(
    stmt: Select[Any], key: Any, after: bool, limit: bool, newest_first: bool
) -> Select[Any]:
    if after:
        cursor = tuple_(bindparam("after_moment", type_=UTCDateTime()), bindparam("after_id"))
        stmt = stmt.where(key < cursor if newest_first else key > cursor)
    if limit:
        stmt = stmt.limit(bindparam("limit", type_=Integer()))
    return stmt


def _order(moment: Any, row_id: Any, newest_first: bool) -> tuple[Any, Any]:
    return (moment.desc(), row_id.desc()) if newest_first else (moment, row_id)


def waiting_names(referrer_id: int) -> tuple[str, ...]:
    """The referees whose referrer's reward waits for their first payment, oldest first."""
    return tuple(read(_waiting_names(), {"client_id": referrer_id}).scalars())


@cache
def _waiting_names() -> Select[tuple[str]]:
    return (
        select(Client.name)
        .join(Referral, Referral.referee_id == Client.id)
        .where(
            Referral.referrer_id == _CLIENT_ID,
            Referral.revoked_at.is_(None),
            Referral.qualified_at.is_(None),
        )
        .order_by(Referral.activated_at, Referral.id)
    )


def sms_packs(client_id: int) -> list[PackRow]:
    return [
        PackRow(size, granted_at)
        for size, granted_at in read(_held_packs(), {"client_id": client_id})
    ]


@cache
def _held_packs() -> Select[tuple[int, datetime]]:
    return (
        select(SmsPack.size, SmsPack.granted_at)
        .where(SmsPack.client_id == _CLIENT_ID, SmsPack.revoked_at.is_(None))
        .order_by(SmsPack.granted_at, SmsPack.id)
    )


def in_effect(rows: Iterable[HistoryRow]) -> list[rules.Grant]:
    """The grants that count (voided ones left out), as the rules take them."""
    return [row.as_rule() for row in rows if not row.voided]
