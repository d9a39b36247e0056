"""No page or API call reads a big table from end to end (PostgreSQL's plans).

A generated program (bench/generate.py, scale `ci`: 20 000 clients, 9 000 members, 6 000
referrals with 12 000 grants, 20 000 invitations) is analysed, the tour of every endpoint
(tests/web/tour.py) is taken, and every statement it sent is planned again with EXPLAIN and
the same parameters. A sequential scan of a big table fails the test: at a million clients it
would be the page's whole cost.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from bench.generate import SCALES, generate
from cabinet.db import db
from tests.conftest import empty_tables
from tests.web.tour import STOPS, Stop, World, make_world, take

BIG_TABLES = {"clients", "members", "referrals", "grants", "invitations"}
# Calls that read a whole table by design, and why.
WHOLE_TABLE_BY_DESIGN = {
    "dashboard": "the program's totals and weekly chart for managers: aggregates of everything",
    "dashboard CSV": "the same totals, as a file",
    "terms draft with its preview": (
        "the preview judges a draft against every member's ladder: a manager's look at the "
        "whole program, like the dashboard"
    ),
}
PLANNED = ("SELECT", "UPDATE", "DELETE", "WITH")


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("EXPLAIN plans are PostgreSQL's: run with TEST_DATABASE_URL=postgresql://…")
    with app.app_context():
        empty_tables()
    generate(app, SCALES["ci"], app.extensions["context"].clock.now(), quiet=True)
    made = make_world(app, 1000, 8)
    with app.app_context(), db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    yield made
    with app.app_context():
        empty_tables()


def _sequential_scans(plan: dict[str, Any]) -> Iterator[str]:
    """Big tables read whole: a Seq Scan, or an index walked end to end with no condition
    (ORDER BY id LIMIT n over a filter nothing indexes)."""
    node, table = plan.get("Node Type"), plan.get("Relation Name")
    if table in BIG_TABLES and (
        node == "Seq Scan"
        or (node in ("Index Scan", "Index Only Scan") and "Index Cond" not in plan)
    ):
        yield f"{node} on {table}"
    for child in plan.get("Plans", ()):
        yield from _sequential_scans(child)


def _plans(app: Flask, statements: list[tuple[str, object]]) -> Iterator[tuple[str, Any]]:
    with app.app_context():
        connection = db.engine.raw_connection()
    try:
        cursor = connection.cursor()
        for statement, parameters in statements:
            if not statement.lstrip().upper().startswith(PLANNED):
                continue
            if isinstance(parameters, list):  # executemany: one row's parameters plan them all
                parameters = parameters[0]
            cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            (plan,) = cursor.fetchone()
            yield statement, plan if not isinstance(plan, str) else json.loads(plan)
        connection.rollback()
    finally:
        connection.close()


@pytest.mark.parametrize("stop", STOPS, ids=[stop.name for stop in STOPS])
def test_no_call_scans_a_big_table(app: Flask, world: World, stop: Stop) -> None:
    if stop.name in WHOLE_TABLE_BY_DESIGN:
        pytest.skip(WHOLE_TABLE_BY_DESIGN[stop.name])
    statements = take(app, stop, world)
    scans = [
        (table, statement)
        for statement, plan in _plans(app, statements)
        for table in _sequential_scans(plan[0]["Plan"])
    ]
    assert not scans, "\n\n".join(f"{scan}:\n{sql}" for scan, sql in scans)
