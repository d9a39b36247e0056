"""The statement counter: every statement an app sends to its database while a block runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import event

from cabinet.db import db

# SQLite's explicit BEGIN is sent as a statement, PostgreSQL's is not.
TRANSACTION_CONTROL = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}


@contextmanager
def recorded(app: Flask) -> Iterator[list[tuple[str, object]]]:
    """Every statement sent to the database inside the block, with its parameters."""
    statements: list[tuple[str, object]] = []
    with app.app_context():
        engine = db.engine

    def record(
        _conn: object, _cursor: object, statement: str, parameters: object, *_: object
    ) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def queries(statements: list[tuple[str, object]]) -> list[str]:
    """The statements that are queries: the same count on SQLite and PostgreSQL."""
    return [s for s, _ in statements if s.strip().upper() not in TRANSACTION_CONTROL]
