"""Change stamps: what a member sees changes only with a new stamp, in the same transaction.

Every member has a stamp (`member_stamps`, a random number replaced on each change), and the
program has one (the row of client 0: the terms, the demo clock, anything seen by everyone).
The cabinet's pages and the discount API name their content by these stamps (`ETag`, the
fragment cache: cabinet/conditional.py), so a stamp that a write forgot to change would
serve a stale page. Hence no writer changes a stamp itself: the database session does it.

* Every statement that writes is seen here (`before_execute` on every engine; the ORM's
  flushes through `after_flush`, which knows the rows' columns). Each table is declared in
  OWNERS (the columns naming the members who see its rows), EVERYONE (all members see it) or
  UNSEEN (no member sees it). A write to any other table — one added later and not declared —
  changes the program's stamp, so it is never stale, only cached less; a test lists the
  undeclared tables and fails on them.
* A write whose members cannot be told from the statement (an UPDATE by id, a text
  statement) changes the program's stamp too, unless it sets only UNSEEN_COLUMNS.
* The member's referrer sees the member (its name and status in «Приведенные клиенты», the
  fate of its invitations): a member's change is also its referrer's.
* Before the session commits, the stamps of everyone touched get one new random value, in one
  statement, rows locked in id order (the program's row, 0, first), after the transaction's
  other locks. A rolled-back transaction changes no stamp.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql import Delete, Insert, Update
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ClauseElement, TextClause
from sqlalchemy.sql.visitors import iterate

from cabinet.db import db, read

logger = logging.getLogger(__name__)
PROGRAM = 0  # the row of the stamp every member's pages depend on

# table → the columns that name the clients whose pages show a row of it
OWNERS: dict[str, tuple[str, ...]] = {
    "clients": ("id",),
    "members": ("client_id",),
    "referrals": ("referrer_id", "referee_id"),
    "grants": ("client_id",),
    "sms_packs": ("client_id",),
    "invitations": ("member_id",),
    "events": ("client_id",),
    "payments": ("client_id",),  # a payment qualifies the referrer's waiting reward
}
# tables every member's pages read: a write to one changes the program's stamp
EVERYONE = frozenset({"program_terms", "demo_clock", "managers"})
# tables no member's page or API answer reads
UNSEEN = frozenset(
    {
        "alembic_version",
        "member_stamps",
        "audit_log",
        "api_tokens",
        "demo_runs",
        "gateway_callbacks",
        "stop_list",
        "webhook_subscribers",
        "webhook_deliveries",
        "referral_channels",  # the dashboard's conversion by channel
    }
)
# columns of an OWNERS table that no page shows (the outbox's bookkeeping)
UNSEEN_COLUMNS: dict[str, frozenset[str]] = {
    "invitations": frozenset(
        {"attempts", "next_attempt_at", "lease_until", "lease_token", "last_error"}
    ),
    "clients": frozenset({"password_hash"}),
}


class MemberStamp(db.Model):  # type: ignore[name-defined,misc]
    """The stamp of what a member sees (client 0: what every member sees)."""

    __tablename__ = "member_stamps"

    client_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    stamp: Mapped[int] = mapped_column(BigInteger)


def declared_tables() -> frozenset[str]:
    return frozenset(OWNERS) | EVERYONE | UNSEEN


# ---- collecting: who did this transaction touch --------------------------------------------

_MARKS = "stamp_marks"
_MIGRATING = "stamps_migrating"  # the connection wrote alembic_version: a migration
_flushing: ContextVar[bool] = ContextVar("stamps_flushing", default=False)
_WRITE = re.compile(r"^\s*(insert\s+into|update|delete\s+from)\s+\"?(\w+)", re.IGNORECASE)


def _marks(connection: Connection) -> set[int]:
    marks: set[int] = connection.info.setdefault(_MARKS, set())
    return marks


def _before_execute(
    connection: Connection,
    clause: Any,
    multiparams: Any,
    params: Any,
    options: Any,
) -> None:
    if _flushing.get():  # the ORM's own statements: `_after_flush` reads their rows
        return
    if isinstance(clause, Insert | Update | Delete):
        if getattr(clause.table, "name", None) == "alembic_version":
            connection.info[_MIGRATING] = True
        touched = _touched_by(clause, multiparams, params)
    elif isinstance(clause, TextClause):
        found = _WRITE.match(clause.text)
        if found is None:
            return
        table = found.group(2).lower()
        touched = set() if table in UNSEEN else {PROGRAM}
    else:
        return
    if touched:
        _marks(connection).update(touched)


def _touched_by(clause: Insert | Update | Delete, multiparams: Any, params: Any) -> set[int]:
    table = clause.table.name  # type: ignore[union-attr]
    if table in UNSEEN:
        return set()
    owners = OWNERS.get(table)
    if owners is None:
        return {PROGRAM}
    if isinstance(clause, Update):
        changed = {_column_name(key) for key in clause._values or ()}  # noqa: SLF001
        if changed and changed <= UNSEEN_COLUMNS.get(table, frozenset()):
            return set()
    ids: set[int] = set()
    if isinstance(clause, Insert):
        rows = _rows(clause, multiparams, params)
        for row in rows:
            found = [row.get(column) for column in owners]
            if not any(isinstance(value, int) for value in found):
                return {PROGRAM}
            ids.update(value for value in found if isinstance(value, int))
        return ids or {PROGRAM}
    found_ids = _owners_in_where(clause, owners, _flat_params(multiparams, params))
    return found_ids if found_ids else {PROGRAM}


def _column_name(key: Any) -> str:
    return str(getattr(key, "key", key))


def _rows(clause: Insert, multiparams: Any, params: Any) -> list[Mapping[str, Any]]:
    values = getattr(clause, "_multi_values", ()) or ()
    if values:
        return [{_column_name(k): _bound(v) for k, v in row.items()} for row in values[0]]
    if clause._values:  # noqa: SLF001
        return [{_column_name(k): _bound(v) for k, v in clause._values.items()}]  # noqa: SLF001
    rows = _param_rows(multiparams, params)
    return rows or [{}]


def _bound(value: Any) -> Any:
    return value.value if isinstance(value, BindParameter) else value


def _param_rows(multiparams: Any, params: Any) -> list[Mapping[str, Any]]:
    if isinstance(multiparams, list | tuple) and multiparams:
        first = multiparams[0]
        if isinstance(first, list | tuple):
            return [row for row in first if isinstance(row, Mapping)]
        return [row for row in multiparams if isinstance(row, Mapping)]
    if isinstance(multiparams, Mapping):
        return [multiparams]
    if isinstance(params, Mapping) and params:
        return [params]
    return []


def _flat_params(multiparams: Any, params: Any) -> Mapping[str, Any]:
    rows = _param_rows(multiparams, params)
    return rows[0] if len(rows) == 1 else {}


def _owners_in_where(
    clause: Update | Delete, owners: tuple[str, ...], params: Mapping[str, Any]
) -> set[int]:
    """`owner = :x` or `owner IN (...)` in the WHERE clause: the ids named; else empty."""
    where = clause.whereclause
    if where is None:
        return set()
    ids: set[int] = set()
    for element in iterate(where):
        if not isinstance(element, BinaryExpression):
            continue
        left, right = element.left, element.right
        if getattr(left, "name", None) not in owners or getattr(left, "table", None) is None:
            continue
        if getattr(left.table, "name", None) != clause.table.name:  # type: ignore[union-attr]
            continue
        ids.update(_ints(right, params))
    return ids


def _ints(element: ClauseElement, params: Mapping[str, Any]) -> set[int]:
    values: list[Any] = []
    for part in iterate(element):
        if isinstance(part, BindParameter):
            value = params.get(part.key, part.value)
            values.extend(value if isinstance(value, list | tuple | set) else [value])
    return {value for value in values if isinstance(value, int)}


def _before_flush(session: Session, *_: Any) -> None:
    _flushing.set(True)


def _after_flush(session: Session, _context: Any) -> None:
    touched: set[int] = set()
    for obj in session.new | session.deleted:
        touched |= _object_owners(obj, changed=None)
    for obj in session.dirty:
        state = inspect(obj)
        changed = {
            attr.key
            for attr in state.mapper.column_attrs
            if state.attrs[attr.key].history.has_changes()
        }
        if changed:
            touched |= _object_owners(obj, changed=changed)
    if touched:
        _marks(session.connection()).update(touched)


def _object_owners(obj: Any, changed: set[str] | None) -> set[int]:
    table = getattr(getattr(obj, "__table__", None), "name", None)
    if table is None or table in UNSEEN:
        return set()
    owners = OWNERS.get(table)
    if owners is None:
        return {PROGRAM}
    if changed is not None and changed <= UNSEEN_COLUMNS.get(table, frozenset()):
        return set()
    mapper = inspect(obj).mapper
    ids = set()
    for column in owners:
        attr = mapper.get_property_by_column(mapper.local_table.c[column]).key
        value = getattr(obj, attr, None)
        if isinstance(value, int):
            ids.add(value)
    return ids or {PROGRAM}


# ---- writing: the new stamps, before the commit --------------------------------------------


def _before_commit(session: Session) -> None:
    if not session.in_transaction():
        return
    session.flush()
    connection = session.connection()
    marks: set[int] | None = connection.info.pop(_MARKS, None)
    if marks:
        bump(connection, marks)


def bump(connection: Connection, touched: Iterable[int]) -> None:
    """One statement: a new random stamp for the clients touched and their referrers (and the
    program's row, when PROGRAM is among them)."""
    ids = sorted(set(touched))
    statement = _BUMP.bindparams(bindparam("ids", expanding=True))
    connection.execute(statement, {"ids": ids, "stamp": new_stamp()})


# The referrers are read with the clients: one statement; ORDER BY locks the rows in id order
# (PostgreSQL takes them in the order the SELECT gives them), so two writers never deadlock.
_BUMP = text(
    "INSERT INTO member_stamps (client_id, stamp) "
    "SELECT touched.id, :stamp FROM ("
    " SELECT id FROM clients WHERE id IN :ids"
    " UNION SELECT referrer_id FROM referrals WHERE referee_id IN :ids"
    " UNION SELECT 0 AS id WHERE 0 IN :ids"  # PROGRAM
    ") AS touched WHERE true ORDER BY touched.id "
    "ON CONFLICT (client_id) DO UPDATE SET stamp = excluded.stamp"
)


def new_stamp() -> int:
    return secrets.randbits(62)


def _forget(connection: Connection) -> None:
    if connection.invalidated:
        return  # the server dropped it mid-transaction: its marks went with it
    connection.info.pop(_MARKS, None)
    connection.info.pop(_MIGRATING, None)


def _committed(connection: Connection) -> None:
    """A commit that did not pass through a session (`_before_commit`: a Core write on a
    connection of its own, a migration's data) with marks left: the stamps are changed here,
    in the same transaction, just before its COMMIT, on the driver's own cursor (the connection
    is committing: it takes no statement of its own now)."""
    marks: set[int] | None = connection.info.pop(_MARKS, None)
    if connection.info.pop(_MIGRATING, False) or not marks:
        return  # a migration: a new release, and the keys name the release
    ids = ", ".join(str(int(i)) for i in sorted(marks))  # integers only: nothing to quote
    statement = _BUMP.text.replace(":ids", f"({ids})").replace(":stamp", str(new_stamp()))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _flush_over(*_: Any) -> None:
    _flushing.set(False)


def _first_stamp(target: Any, connection: Connection, **_: Any) -> None:
    """A new database (`create_all`) starts with a program stamp of its own, so caches of
    another database never answer for this one (the migration does the same)."""
    connection.execute(
        text("INSERT INTO member_stamps (client_id, stamp) VALUES (:id, :stamp)"),
        {"id": PROGRAM, "stamp": new_stamp()},
    )


_installed = False


def install() -> None:
    """Listen to every engine and session (once per process)."""
    global _installed  # noqa: PLW0603 - the listeners are process-wide, installed once
    if _installed:
        return
    event.listen(Engine, "before_execute", _before_execute)
    event.listen(Engine, "rollback", _forget)
    event.listen(Engine, "commit", _committed)
    event.listen(MemberStamp.__table__, "after_create", _first_stamp)
    event.listen(Session, "after_soft_rollback", _flush_over)
    event.listen(Session, "after_transaction_end", _flush_over)
    event.listen(Session, "before_flush", _before_flush)
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "after_flush_postexec", _flush_over)
    event.listen(Session, "before_commit", _before_commit)
    _installed = True


# ---- reading -------------------------------------------------------------------------------


def of_client(client_id: int) -> tuple[int | None, int | None]:
    """The client's stamp and the program's (one statement; None: never changed)."""
    rows: dict[int, int] = {row[0]: row[1] for row in read(_STAMPS_OF, {"client_id": client_id})}
    return rows.get(client_id), rows.get(PROGRAM)


_STAMPS_OF = text(
    "SELECT client_id, stamp FROM member_stamps WHERE client_id IN (:client_id, 0)"  # PROGRAM
)
