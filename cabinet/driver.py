"""A select run on the database driver's own cursor, worked out once per statement.

SQLAlchemy's execution of a small select (its compiled cache, execution context, result
metadata, row objects) costs as much CPU as PostgreSQL's work on it: ≈0.1 ms a statement
(docs/changelog.md, the fifth round). The cabinet's selects are built once and reused (cached
functions), so their SQL, parameter order and type conversions are worked out once too and
the driver runs them directly: the same SQL, the same conversions (a moment in, a moment out)
as SQLAlchemy's, the engine's statement listeners told of each. The revisit gate's reads
(cabinet/revisits/reads.py) take their statements in the same form (`DriverStatement`).

What this does not do it leaves to SQLAlchemy: a statement seen for the first time (a one-off
is not worth a plan), parameters expanded at execution (`IN` of a list), escaped names. A
failed statement raises SQLAlchemy's own error, and a connection the server dropped is
invalidated, as SQLAlchemy would.
"""

from __future__ import annotations

import keyword
import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Engine, Executable, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


class Rows:
    """What a read returns: its rows, fetched (each a named tuple, as SQLAlchemy's rows are)."""

    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return self._rows

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any | None:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> Iterator[Any]:
        return (row[0] for row in self._rows)


@dataclass(frozen=True, slots=True)
class DriverStatement:
    """A statement as the driver takes it: the SQL, the parameters' order (positional drivers),
    the values the statement binds itself (a constant's), and the conversions of the values it
    binds and of the columns it returns."""

    sql: str
    names: tuple[str, ...] | None
    defaults: Mapping[str, Any]
    binds: Mapping[str, Processor]

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> DriverStatement | None:
        """None when the driver cannot take it as compiled (parameters expanded at execution,
        escaped names)."""
        compiled = cast(SQLCompiler, cast(Any, statement).compile(dialect=dialect))
        if compiled.post_compile_params or compiled.literal_execute_params:
            return None
        if compiled.escaped_bind_names:
            return None
        names = tuple(compiled.positiontup or ()) if compiled.positional else None
        binds = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                binds[name] = processor
        return cls(compiled.string, names, dict(compiled.params), binds)

    def arguments(self, params: Mapping[str, Any]) -> Any:
        values = {**self.defaults, **params}
        for name, processor in self.binds.items():
            if name in values:
                values[name] = processor(values[name])
        return values if self.names is None else tuple(values[name] for name in self.names)


@dataclass(frozen=True, slots=True)
class _Plan:
    statement: DriverStatement
    make: Callable[[Iterable[Any]], Any]  # a row of the statement's keys from the values
    results: tuple[tuple[int, Processor], ...]  # the columns that are converted


class Plans:
    """The plans of the selects this process runs again, per dialect, bounded: a statement is
    planned the second time it is read (the first goes through SQLAlchemy), so one-off
    statements cost nothing here. A statement and its dialect are held while their plan is, so
    their ids stay their own."""

    KEPT_AT_MOST = 512

    def __init__(self) -> None:
        # The plan; None: seen once, not planned yet; False: SQLAlchemy's for good.
        self._seen: dict[tuple[int, int], tuple[Executable, Dialect, _Plan | bool | None]] = {}
        self._lock = threading.Lock()

    def plan(self, statement: Executable, dialect: Dialect) -> _Plan | None:
        found = self._seen.get((id(statement), id(dialect)))
        if found is not None and found[0] is statement and found[1] is dialect and found[2]:
            return cast(_Plan, found[2])
        return None

    def seen(self, statement: Executable, keys: Sequence[str], dialect: Dialect) -> None:
        """`statement` was just run through SQLAlchemy, its rows having `keys`; the second time
        it comes it is planned (or, if it cannot be, left to SQLAlchemy for good)."""
        key = (id(statement), id(dialect))
        with self._lock:
            found = self._seen.get(key)
            if found is not None and found[0] is statement and found[1] is dialect:
                if found[2] is None:
                    planned = _planned(statement, keys, dialect)
                    self._seen[key] = (statement, dialect, planned or False)
                return
            if len(self._seen) >= self.KEPT_AT_MOST:
                self._seen.clear()
            # Not planned yet: `plan` answers None, SQLAlchemy runs it once more.
            self._seen[key] = (statement, dialect, None)


PLANS = Plans()


def _planned(statement: Executable, keys: Sequence[str], dialect: Dialect) -> _Plan | None:
    try:
        return _plan_of(statement, keys, dialect)
    except Exception:  # noqa: BLE001 - whatever cannot be planned, SQLAlchemy goes on running
        return None


def _plan_of(statement: Executable, keys: Sequence[str], dialect: Dialect) -> _Plan | None:
    driver = DriverStatement.of(statement, dialect)
    columns = getattr(statement, "selected_columns", None)
    if driver is None or columns is None or len(columns) != len(keys):
        return None
    if len(set(keys)) != len(keys) or not all(_usable_name(k) for k in keys):
        return None
    results = []
    for index, column in enumerate(columns):
        processor = column.type.dialect_impl(dialect).result_processor(dialect, None)
        if processor is not None:
            results.append((index, processor))
    row = namedtuple("Row", keys)  # type: ignore[misc]  # noqa: PYI024
    return _Plan(driver, row._make, tuple(results))


def _usable_name(key: str) -> bool:
    return key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("_")


def run(connection: Connection, plan: _Plan, params: Mapping[str, Any]) -> Rows:
    """`plan` on `connection`'s driver connection, in its transaction (if any)."""
    driver = plan.statement
    arguments = driver.arguments(params)
    raw = connection.connection.dbapi_connection
    cursor = raw.cursor()  # type: ignore[union-attr]
    try:
        engine: Engine = connection.engine
        announce = engine.dispatch.before_cursor_execute
        if announce:  # the engine's statement listeners see these statements too
            announce(connection, cursor, driver.sql, arguments, None, False)
        try:
            cursor.execute(driver.sql, arguments)
            fetched = cursor.fetchall()
        except engine.dialect.loaded_dbapi.Error as error:
            raise _wrapped(connection, cursor, driver.sql, arguments, error) from error
    finally:
        cursor.close()
    make, results = plan.make, plan.results
    if not results:
        return Rows([make(row) for row in fetched])
    rows = []
    for values in fetched:
        values = list(values)
        for index, processor in results:
            values[index] = processor(values[index])
        rows.append(make(values))
    return Rows(rows)


def _wrapped(
    connection: Connection, cursor: Any, sql: str, arguments: Any, error: Exception
) -> exc.DBAPIError:
    dialect = connection.dialect
    dropped = dialect.is_disconnect(
        cast(Any, error), connection.connection.dbapi_connection, cursor
    )
    if dropped:
        connection.invalidate(error)
    return cast(
        exc.DBAPIError,
        exc.DBAPIError.instance(
            sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=dropped,
            dialect=dialect,
        ),
    )
