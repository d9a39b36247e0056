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
import threading
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask
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
            cursor = connection.cursor()
            try:
                announce = self.engine.dispatch.before_cursor_execute
                if announce:  # the engine's statement listeners see the gate's statements too
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
