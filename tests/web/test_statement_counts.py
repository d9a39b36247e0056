"""Every endpoint runs a fixed number of SQL statements, whatever the size of the program.

The tour (tests/web/tour.py) is taken twice: by a referrer with 8 referred clients (past
every step of the ladder) and by one with 40 (and as many grants and invitations). Each call
must run the same statements in both, and no more than its budget here: a new query per row,
or a block computed for nothing, shows.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.conftest import empty_tables
from tests.support.statements import queries
from tests.web.tour import NOT_TOURED, STOPS, Stop, World, make_world, take

# The budget of each call, the sign-in check included. Every write has one statement for the
# change stamps of those who see it (cabinet/stamps.py). Writes take their row locks first on
# PostgreSQL (SELECT … FOR UPDATE), a few statements more than SQLite: theirs is the budget.
BUDGET = {
    "home": 0,
    "login form": 0,
    "sign in": 1,
    "liveness": 0,
    "readiness": 1,
    "metrics": 1,  # the outbox's depth and oldest age, in one statement
    "referral page": 3,  # the client, the terms in force (once per process and program stamp),
    # its standing with its current grants, SMS packs, notice switch and the first page of the
    # history tab
    "history tab": 2,  # the client, one page: a fragment builds only its block
    "history, next page": 2,
    "clients tab": 2,
    "clients, next page": 2,
    "invitations tab": 2,
    "share dialog": 3,  # the client, its code, the terms in force
    "personal link": 2,  # the code's active owner, the terms in force (no sign-in check)
    "send an invitation": 11,  # with the member's SMS allowance, and the terms in force
    # … and the terms of each activation; the referrer's notice adds 5 (its switch and address,
    # the stop list, its «Ваша скидка» (2), the outbox row): 25 → 30 measured
    "apply a code": 41,
    "notice switch": 3,  # the client, the member's row, the update
    "join without a code": 16,
    "sign out": 3,
    "API: client": 3,
    "API: provision": 9,
    "API: discount": 5,  # the change stamps, the terms in force (their version and cap)
    "API: invoice preview": 4,  # the versions of the terms (each day's cap)
    # the token, the referee's referrer, the locks, the payment and its event, then settling the
    # referrer: the terms, its referrals, their referees, their payments, its grants and packs
    "API: payment": 15,
    "API: closure": 14,  # the same, the client's row instead of the payment's
    "API: events": 2,
    "API: program": 2,  # the token, the published versions
    "API: OpenAPI": 0,
    "manager sign-in form": 0,
    "manager home": 1,
    # with today's SMS budget use, the version of the terms in force, and the conversion by
    # channel (messages per channel, referrals per kept channel)
    "dashboard": 16,
    "dashboard CSV": 14,
    "client lookup by id": 2,
    "client lookup by code": 3,  # the code's owner, then the client
    "client card": 11,  # … and the terms in force
    "audit log": 2,
    "terms": 2,  # the manager, every version
    "new terms form": 2,
    "save new terms": 5,  # the manager (twice: session, right), the insert, the audit entry,
    # the change stamps (every write: cabinet/stamps.py)
    "terms draft with its preview": 8,  # the draft, the versions, the members' ladders (4),
    # the referrals of the last 30 days with their payments (rewards that would wait)
    "save a draft": 7,
    "publish terms": 8,  # … the terms lock (PostgreSQL), the published versions (overlaps, start)
    "withdraw terms": 7,  # … the terms lock (PostgreSQL)
    "revoke a referral": 42,
    "send failed invitations again": 3,
    "finance report": 7,  # the manager, the terms, grants, payments, referrals, packs, titles
    "finance report CSV": 7,
    "webhooks": 2,
    "add a webhook subscriber": 8,
    "webhook delivery log": 3,
    "send webhooks again": 8,
    "remove a webhook subscriber": 6,
    "manager signs out": 4,
}


def test_the_tour_covers_every_endpoint(app: Flask) -> None:
    toured = {stop.endpoint for stop in STOPS}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - toured == set(NOT_TOURED)
    assert {stop.name for stop in STOPS} == set(BUDGET)


@pytest.fixture(scope="module")
def worlds(app: Flask) -> Iterator[tuple[World, World]]:
    """Made once for the module: each call of the tour is taken once in each world."""
    with app.app_context():
        empty_tables()
    yield make_world(app, 1000, 8), make_world(app, 2000, 40)


@pytest.mark.parametrize("stop", STOPS, ids=[stop.name for stop in STOPS])
def test_each_call_runs_the_same_statements_small_or_big(
    app: Flask, worlds: tuple[World, World], stop: Stop
) -> None:
    small, big = (queries(take(app, stop, world)) for world in worlds)
    assert len(small) == len(big), big
    assert len(big) <= BUDGET[stop.name], big
