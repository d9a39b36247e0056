"""The revisit gate's statements on a connection of its own (cabinet/revisits/reads.py): on
PostgreSQL one libpq call each, prepared once per connection; the same rows as the ORM's."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from cabinet.clients.models import load_record, session_check
from cabinet.db import db
from cabinet.revisits.reads import Reads, _libpq_statement
from tests.web.conftest import outside_requests, web_client


def test_named_parameters_become_numbered_ones_in_their_first_order() -> None:
    sql = "SELECT %(b)s, %(a)s::INTEGER, %(b)s, 5 %% 2 FROM t WHERE x = %(a)s"
    made = _libpq_statement(sql)
    assert made.sql == b"SELECT $1, $2::INTEGER, $1, 5 % 2 FROM t WHERE x = $2"
    assert made.order == ("b", "a")
    assert _libpq_statement(sql) is made  # worked out once


def test_the_gate_reads_what_the_page_reads(app: Flask) -> None:
    """Small and large ids alike, on one connection: the statement is prepared by its first
    values and takes any the column does (a number's size does not fix its type)."""
    for client_id in (481, 70_481, 2_000_000_000):
        web_client(app, client_id)
    reads = Reads(app)
    for client_id in (481, 0, 70_481, 2_000_000_000, 3):
        row = reads.one(session_check(), {"client_id": client_id})
        with outside_requests(app):
            record = load_record(client_id)
        if record is None:
            assert row is None
        else:
            assert row is not None
            assert (row[0], row[1]) == (record.status, record.session_version)


def test_a_broken_connection_fails_one_read_and_the_next_reads_again(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: a SQLite file has no server to lose the connection")
    web_client(app, 482)
    reads = Reads(app)
    assert reads.one(session_check(), {"client_id": 482}) is not None
    backend = reads.one(text("SELECT pg_backend_pid() AS pid"), {})
    assert backend is not None
    with app.app_context(), db.engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend[0]})
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever libpq says of a lost server
        reads.one(session_check(), {"client_id": 482})
    assert reads.one(session_check(), {"client_id": 482}) is not None
