"""The database: one declarative base, UTC moments, and SQLite made safe for several writers."""

from __future__ import annotations

import fcntl
import os
import select
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, Executable, MetaData, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from cabinet.driver import PLANS, Rows, run

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)


def sql_values(values: tuple[str, ...]) -> str:
    """`('a', 'b')` → `'a', 'b'`: a CHECK constraint's list, from the constant that names them."""
    return ", ".join("'" + value.replace("'", "''") + "'" for value in values)


class UTCDateTime(TypeDecorator[datetime]):
    """A moment: stored as naive UTC on every engine, always returned aware in UTC."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("a naive datetime reached the database; moments must be aware")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """PostgreSQL: a server that accepts TCP but never answers costs a request
    DB_CONNECT_TIMEOUT_SECONDS, not a worker; a dead pooled connection is replaced before use
    (so the cabinet recovers without a restart: `_checked_on_checkout`); waiting for a free
    connection is bounded."""
    options: dict[str, Any] = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if str(config["SQLALCHEMY_DATABASE_URI"]).startswith("postgresql"):
        # A dead pooled connection is found without a round trip (`_closed_by_the_server`).
        options.setdefault("pool_pre_ping", False)
        options.setdefault("pool_timeout", config["DB_POOL_TIMEOUT_SECONDS"])
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", config["DB_CONNECT_TIMEOUT_SECONDS"])
        options["connect_args"] = connect_args
    return options


def init_engine(app: Flask) -> None:
    """Tune the engine once it exists: SQLite gets WAL, a busy timeout and explicit BEGINs;
    PostgreSQL a statement timeout on every connection."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _make_sqlite_concurrent(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
            database = engine.url.database
            if database and database != ":memory:" and not database.startswith("file:"):
                app.extensions["sqlite_writers"] = WriterQueue(
                    database, app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000
                )
        elif engine.dialect.name == "postgresql":
            _bound_statements(engine, app.config["DB_STATEMENT_TIMEOUT_MS"])
            if not engine.pool._pre_ping:  # noqa: SLF001 - a caller that asked for the ping keeps it
                _checked_on_checkout(engine)


def _checked_on_checkout(engine: Engine) -> None:
    """A pooled connection the server has closed (a restart, a dropped link, an idle timeout)
    is replaced before use, without the round trip of SQLAlchemy's pre-ping: the server says
    goodbye on the socket, so an idle connection with anything to read, or a broken one, is
    given up (SQLAlchemy retries the checkout with a new connection)."""

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _closed_by_the_server(dbapi_connection):
            raise exc.DisconnectionError("the server closed this pooled connection")


def _closed_by_the_server(connection: Any) -> bool:
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _bound_statements(engine: Engine, timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # A session setting, not a connection option: the URL's own `options` stay as they are.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(timeout_ms)}")
        dbapi_connection.autocommit = autocommit


def _make_sqlite_concurrent(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling never issues BEGIN IMMEDIATE and defers BEGIN past
    # reads; we take BEGIN over so a write transaction holds the write lock from its first read.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        # SQLite's own lower() knows only ASCII; support looks clients up by Cyrillic names.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _unicode_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _begin_write() -> None:
    """Start the session's write transaction; call first thing in a service that writes.

    Any read transaction left open (a view that loaded the current user) is ended first, so
    everything the service reads comes after the write lock (SQLite) or after the row locks
    the service takes (PostgreSQL).
    """
    db.session.rollback()
    db.session.connection(execution_options={"sqlite_immediate": True})


def read(statement: Executable, parameters: Mapping[str, Any] | None = None) -> Rows:
    """A select of columns (never of models), run on the session's connection: the same
    transaction as the ORM's, without the ORM's execution layer around it, which costs as much
    as the small indexed query itself (≈50 µs a statement); a statement read again runs on the
    driver's cursor (cabinet/driver.py: SQLAlchemy's Core execution costs as much again).
    Pending changes are flushed first, as the session would."""
    session = db.session()
    if session.info.pop(_READS_ONLY, False) and not session.in_transaction():
        # The request only reads (`reads_only`): no BEGIN and no ROLLBACK round trips.
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.flush()
    connection = session.connection()
    params = parameters or {}
    dialect = connection.dialect
    plan = PLANS.plan(statement, dialect)
    if plan is not None:
        return run(connection, plan, params)
    result = connection.execute(statement, params)
    keys = tuple(result.keys())
    rows = Rows(list(result.all()))
    PLANS.seen(statement, keys, dialect)
    return rows


_READS_ONLY = "reads_only"


def reads_only() -> None:
    """This request reads and never writes outside `transaction()` (a GET): on PostgreSQL its
    reads may run without a transaction of their own. Each statement of a READ COMMITTED
    transaction sees its own snapshot anyway, so a page sees what it saw before, and saves
    two of its five round trips (BEGIN and ROLLBACK; the pool's ping and the statements stay).
    A write in such a request still gets its transaction: `transaction()` starts afresh on a
    connection of its own isolation level (the pool resets the level of a returned one)."""
    if is_postgresql():
        db.session().info[_READS_ONLY] = True


def is_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


@contextmanager
def transaction() -> Iterator[None]:
    """A service's one write transaction: begun for writing, committed once at the end of the
    block, rolled back on any error (the error goes on to the caller). On a SQLite file the
    writers first take their turn (`WriterQueue`)."""
    queue: WriterQueue | None = current_app.extensions.get("sqlite_writers")
    with queue.turn() if queue is not None else nullcontext():
        _begin_write()
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise


class WriterQueue:
    """One writer at a time on a SQLite file, waiting in the kernel rather than in SQLite.

    SQLite lets one transaction write; the others retry in its busy handler, which sleeps
    between tries, longer and longer (1, 2, 5 … 100 ms). Under load a writer can lose try
    after try: `make bench` saw «Применить» answer in 86 ms at the median and 893 ms at p99
    with 16 connections. Here every process's writers queue on an exclusive `flock` of a file
    beside the database, and the kernel wakes the next one the moment the lock is released; in
    a process, threads queue on a lock first (a flock belongs to the open file, shared by the
    threads). The busy timeout still bounds what waits on SQLite itself (a writer that does not
    use `transaction`: migrations, the delivery worker's claims)."""

    def __init__(self, database: str, timeout_seconds: float) -> None:
        self.path = database + "-writers"
        self.timeout_seconds = timeout_seconds
        self._threads = threading.RLock()
        self._depth = 0
        self._file: int | None = None
        self._pid = 0

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._threads.acquire(timeout=self.timeout_seconds):
            yield  # SQLite's own busy timeout decides, as without the queue
            return
        try:
            if self._depth == 0:
                fcntl.flock(self._opened(), fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._opened(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _opened(self) -> int:
        # Opened in each process, after any fork: a descriptor inherited from the parent
        # would share its lock with the parent and its other children.
        if self._file is None or self._pid != os.getpid():
            self._file = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._file
