"""The gate's statements, each one round trip on a connection of its own.

The app's pool costs a repeated read more than the read itself: a checkout, PostgreSQL's ping
before use, a BEGIN and a ROLLBACK. The gate reads on a connection per thread, made by the
app's engine (its connect settings: SQLite's pragmas, PostgreSQL's statement timeout) and then
detached from the pool, in autocommit: each statement sees what was committed before it, as a
statement of the page's own read does. A failed statement closes the connection; the next
request makes a new one. An in-memory SQLite database is another database on every
connection, so there the gate reads nothing (`usable`).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from flask import Flask
from psycopg import pq
from psycopg.adapt import PyFormat, Transformer
from sqlalchemy import Engine, Executable

from cabinet.db import db
from cabinet.driver import DriverStatement

log = logging.getLogger("cabinet.revisits")


class Reads:
    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine: Engine = db.engine
        self._local = threading.local()
        self._compiled: dict[int, DriverStatement] = {}
        self._opened: list[tuple[int, Any]] = []
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._opened, self._lock)

    @property
    def usable(self) -> bool:
        url = self.engine.url
        if url.get_backend_name() != "sqlite":
            return True
        database = url.database or ""
        return bool(database) and database != ":memory:" and "mode=memory" not in database

    def one(self, statement: Executable, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        rows = self.all(statement, params)
        return rows[0] if rows else None

    def all(self, statement: Executable, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        driver = self._compile(statement)
        sql, arguments = driver.sql, driver.arguments(params)
        connection = self._connection()
        try:
            announce = self.engine.dispatch.before_cursor_execute
            if self.engine.dialect.name == "postgresql":
                if announce:  # the engine's statement listeners see the gate's statements too
                    announce(None, None, sql, arguments, None, False)
                return _prepared(connection, self._local.prepared, driver, arguments)
            cursor = connection.cursor()
            try:
                if announce:
                    announce(None, cursor, sql, arguments, None, False)
                cursor.execute(sql, arguments)
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()
        except Exception:
            self._drop(connection)
            raise

    def _compile(self, statement: Executable) -> DriverStatement:
        found = self._compiled.get(id(statement))
        if found is None:
            found = DriverStatement.of(statement, self.engine.dialect)
            if found is None:  # the gate's few statements are fixed: none expands at execution
                raise TypeError(f"the revisit gate cannot run {statement!r} on the driver")
            # Statements are module constants (cached functions): their ids stay theirs.
            self._compiled[id(statement)] = found
        return found

    def _connection(self) -> Any:
        pid = os.getpid()
        held = getattr(self._local, "held", None)
        if held is not None and held[0] == pid:
            return held[1]
        fairy = self.engine.raw_connection()
        fairy.detach()
        connection = fairy.dbapi_connection
        if self.engine.dialect.name == "postgresql":
            connection.autocommit = True  # type: ignore[union-attr]
        with self._lock:
            self._opened.append((pid, connection))
        self._local.held = (pid, connection)
        self._local.prepared = set()  # the statements prepared on this connection (PostgreSQL)
        return connection

    def _drop(self, connection: Any) -> None:
        self._local.held = None
        with self._lock:
            self._opened[:] = [held for held in self._opened if held[1] is not connection]
        _close(connection)


def _close_all(opened: list[tuple[int, Any]], lock: threading.Lock) -> None:
    """Close this process's connections (a forked child leaves its parent's alone: closing
    one would end it for the parent too)."""
    pid = os.getpid()
    with lock:
        for owner, connection in opened:
            if owner != pid:
                continue
            _close(connection)
        opened.clear()


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - a broken connection is dropped either way
        log.debug("closing a revisit connection failed", exc_info=True)


# ---- PostgreSQL: one libpq call a statement --------------------------------------------------
#
# psycopg's cursor cost the gate's statement 77–102 µs of CPU (its query conversion, the
# prepared statements' bookkeeping, a generator per round trip), the libpq call with psycopg's
# adapters around it 53–64: a 304 is ≈ 0.5 ms, and the statement a fifth of it
# (docs/performance.md).
# The gate's statements are few and fixed: each is prepared once per connection under a name
# of its own, in PostgreSQL's `$n` form, and run with `exec_prepared`; the values go in and
# the rows come out through psycopg's adapters (`Transformer`), as the cursor's would.

_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")


@dataclass(frozen=True, slots=True)
class _LibpqStatement:
    name: bytes
    sql: bytes
    order: tuple[str, ...]  # the parameters' names, by $n


_libpq_statements: dict[str, _LibpqStatement] = {}
_libpq_lock = threading.Lock()


def _libpq_statement(sql: str) -> _LibpqStatement:
    found = _libpq_statements.get(sql)
    if found is not None:
        return found
    order: list[str] = []

    def numbered(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in order:
            order.append(name)
        return f"${order.index(name) + 1}"

    with _libpq_lock:
        found = _libpq_statements.get(sql)
        if found is None:
            name = f"cabinet_revisit_{len(_libpq_statements)}".encode()
            found = _LibpqStatement(name, _PLACEHOLDER.sub(numbered, sql).encode(), tuple(order))
            _libpq_statements[sql] = found
    return found


def _prepared(
    connection: Any, prepared: set[bytes], driver: DriverStatement, arguments: Any
) -> list[tuple[Any, ...]]:
    if not isinstance(arguments, Mapping):  # the psycopg dialect binds by name
        raise TypeError("the revisit gate expects named parameters on PostgreSQL")
    statement = _libpq_statement(driver.sql)
    transformer = Transformer(connection)
    values = [arguments[name] for name in statement.order]
    # Text, and the types left to the server (the statement's casts and columns say them):
    # a number's binary form would depend on its size, fixed at the first PREPARE.
    dumped = transformer.dump_sequence(values, [PyFormat.TEXT] * len(values))
    pgconn = connection.pgconn
    if statement.name not in prepared:
        made = pgconn.prepare(statement.name, statement.sql)
        _check(made, pq.ExecStatus.COMMAND_OK)
        prepared.add(statement.name)
    result = pgconn.exec_prepared(statement.name, dumped, transformer.formats)
    _check(result, pq.ExecStatus.TUPLES_OK)
    transformer.set_pgresult(result)
    return transformer.load_rows(0, result.ntuples, tuple)


def _check(result: Any, expected: pq.ExecStatus) -> None:
    if result.status != expected:
        raise psycopg.OperationalError(result.error_message.decode(errors="replace"))
