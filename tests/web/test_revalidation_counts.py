"""A read asked again with the ETag it was given is a 304 without a render
(cabinet/conditional.py), and costs fewer statements than the render (tests/web/
test_statement_counts.py has the renders' budgets), in a small program and a big one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import empty_tables
from tests.support.statements import queries, recorded
from tests.web.test_statement_counts import BUDGET
from tests.web.tour import STOPS, World, make_world, sign_in_for

# A read asked again with the ETag it was given: a 304 without a render (cabinet/conditional.py).
REVALIDATION_BUDGET = {
    "referral page": 1,  # the signed-in client, its change stamps in the same statement
    "history tab": 1,
    "history, next page": 1,
    "clients tab": 1,
    "clients, next page": 1,
    "invitations tab": 1,
    "share dialog": 1,
    "API: discount": 2,  # the token, the change stamps
}


@pytest.fixture(scope="module")
def worlds(app: Flask) -> Iterator[tuple[World, World]]:
    with app.app_context():
        empty_tables()
    yield make_world(app, 1000, 8), make_world(app, 2000, 40)


@pytest.mark.parametrize("name", REVALIDATION_BUDGET)
def test_a_read_asked_again_costs_its_revalidation_budget(
    app: Flask, worlds: tuple[World, World], name: str
) -> None:
    stop = next(stop for stop in STOPS if stop.name == name)
    for world in worlds:
        client = app.test_client()
        token = sign_in_for(client, stop, world)
        first = stop.call(client, world, token)
        assert first.status_code == 200 and "ETag" in first.headers, name
        again = _with_header(client, "If-None-Match", first.headers["ETag"])
        with recorded(app) as statements:
            response = stop.call(again, world, token)
        assert response.status_code == 304, name
        assert len(queries(statements)) <= REVALIDATION_BUDGET[name] < BUDGET[name]


def _with_header(client: FlaskClient, name: str, value: str) -> FlaskClient:
    """The same browser, sending `name: value` with each request."""
    client.environ_base[f"HTTP_{name.upper().replace('-', '_')}"] = value
    return client
