"""Scoped tokens: every endpoint of /api/v1 wants its scope, and nothing else opens it."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import select, text

from cabinet.api import tokens
from cabinet.api.models import ApiToken
from cabinet.clock import Context
from cabinet.db import db
from tests.api.conftest import assert_problem

CLIENT = {"name": "ТехСтрой", "registered_at": "2023-03-20T12:00:00+03:00"}
INVOICE = {
    "lines": [
        {
            "kind": "service",
            "amount": 1_000_000,
            "period": {"first_day": "2023-04-01", "last_day": "2023-04-30"},
        }
    ]
}
# (method, path, body, the scope it needs, the status it answers with that scope)
ENDPOINTS: list[tuple[str, str, Any, str, int]] = [
    ("GET", "/api/v1/program", None, "read", 200),
    ("GET", "/api/v1/clients/400", None, "read", 200),
    ("GET", "/api/v1/events", None, "read", 200),
    ("GET", "/api/v1/clients/400/discount", None, "billing", 200),
    ("POST", "/api/v1/clients/400/invoice-preview", INVOICE, "billing", 200),
    ("PUT", "/api/v1/clients/4242", CLIENT, "provisioning", 201),
]
NEEDS = {
    "read": "чтение (read)",
    "billing": "биллинг (billing)",
    "provisioning": "подключение клиентов (provisioning)",
}


def call(client: FlaskClient, token: str, method: str, path: str, body: Any) -> Any:
    return client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("scope", tokens.SCOPES)
@pytest.mark.parametrize(("method", "path", "body", "needed", "ok"), ENDPOINTS)
def test_every_endpoint_wants_its_scope(
    app: Flask,
    client: FlaskClient,
    context: Context,
    worked_example: str,
    scope: str,
    method: str,
    path: str,
    body: Any,
    needed: str,
    ok: int,
) -> None:
    with app.app_context():
        token = tokens.issue(context, f"only-{scope}", scopes=[scope]).token
    response = call(client, token, method, path, body)
    if scope == needed:
        assert response.status_code == ok, response.get_data(as_text=True)
        return
    problem = assert_problem(response, 403, "insufficient-scope")
    assert problem["detail"] == (
        f"У токена «only-{scope}» нет права «{NEEDS[needed]}», нужного для этого запроса. "
        f"Выпустите токен с --scope {needed}."
    )
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer realm="cabinet-api", error="insufficient_scope", scope="{needed}"'
    )
    if method == "PUT":  # nothing changed: the client was not created
        with app.app_context():
            assert (
                call(
                    client,
                    tokens.issue(context, "reader", scopes=["read"]).token,
                    "GET",
                    path,
                    None,
                ).status_code
                == 404
            )


def test_several_scopes_open_each_of_their_endpoints(
    app: Flask, client: FlaskClient, context: Context, worked_example: str
) -> None:
    with app.app_context():
        token = tokens.issue(context, "billing", scopes=["read", "billing"]).token
    for method, path, body, needed, ok in ENDPOINTS:
        expected = 403 if needed == "provisioning" else ok
        assert call(client, token, method, path, body).status_code == expected, path


def test_the_cli_issues_scoped_tokens_and_lists_their_scopes(
    app: Flask, runner: FlaskCliRunner
) -> None:
    made = runner.invoke(
        args=["api-tokens", "create", "billing", "--scope", "read", "--scope", "billing"]
    )
    assert made.exit_code == 0, made.output
    assert "права: read, billing" in made.stderr
    listed = runner.invoke(args=["api-tokens", "list"]).output
    assert "billing\tвыпущен" in listed
    assert "права: read, billing" in listed
    assert "ВНИМАНИЕ" not in listed


def test_the_cli_wants_a_scope_and_refuses_an_unknown_one(runner: FlaskCliRunner) -> None:
    bare = runner.invoke(args=["api-tokens", "create", "billing"])
    assert bare.exit_code != 0
    assert "Укажите права токена: --scope read, billing или provisioning" in bare.output
    odd = runner.invoke(args=["api-tokens", "create", "billing", "--scope", "admin"])
    assert odd.exit_code != 0
    assert "'admin' is not one of 'read', 'billing', 'provisioning'" in odd.output


def test_a_token_from_before_scopes_has_them_all_and_is_warned_about(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, context: Context, worked_example: str
) -> None:
    """What migration 0012 makes of a token issued before scopes: every scope, marked legacy."""
    with app.app_context():
        token = tokens.issue(context, "old-billing").token
        row = db.session.scalars(select(ApiToken).where(ApiToken.name == "old-billing")).one()
        row.scopes, row.legacy_scopes = " ".join(tokens.SCOPES), True
        db.session.commit()
    for method, path, body, _needed, ok in ENDPOINTS:
        assert call(client, token, method, path, body).status_code == ok, path
    listed = runner.invoke(args=["api-tokens", "list"])
    assert "права: read, billing, provisioning" in listed.output
    assert (
        "ВНИМАНИЕ: токен «old-billing» выпущен до разделения прав и может все, включая "
        "закрытие клиентов и смену их e-mail. Выпустите токены с нужными правами "
        "(flask api-tokens create ИМЯ --scope …) и отзовите этот."
    ) in listed.stderr


def test_the_openapi_document_states_each_operation_s_scope(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    for scope in tokens.SCOPES:
        assert f"«{scope}»" in scheme["description"]
    for method, path, _body, needed, _ok in ENDPOINTS:
        template = re.sub(r"/\d+", "/{client_id}", path.removeprefix("/api/v1"))
        operation = document["paths"][template][method.lower()]
        assert operation["security"] == [{"bearerAuth": [needed]}], template
        assert operation["responses"]["403"] == {"$ref": "#/components/responses/403"}
    assert document["paths"]["/openapi.json"]["get"]["security"] == []


def test_every_route_of_the_api_has_its_scope_in_one_place(app: Flask) -> None:
    """The check before each request and the OpenAPI document read one map; every route of the
    blueprint but the document itself is in it (a route missing there would answer 403)."""
    from cabinet.api.openapi import OPERATIONS

    routed = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
    }
    assert set(tokens.REQUIRED_SCOPE) == routed - {"api.openapi_document"}
    assert {op.endpoint for op in OPERATIONS} == set(tokens.REQUIRED_SCOPE)
    assert {scope for _m, _p, _b, scope, _ok in ENDPOINTS} == set(tokens.SCOPES)
    assert {tokens.REQUIRED_SCOPE[e] for e in routed - {"api.openapi_document"}} <= set(
        tokens.SCOPES
    )


def test_migration_0012_gives_an_existing_token_every_scope_and_marks_it(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    """On a database of its own (SQLite): a token stored before the migration keeps working,
    with every scope, and is marked as legacy."""
    other = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'old.sqlite3'}")
    with other.app_context():
        upgrade(revision="0010")
        db.session.execute(
            text(
                "INSERT INTO api_tokens (name, token_hash, created_at) "
                "VALUES ('billing', :hash, '2023-03-01 09:00:00.000000')"
            ),
            {"hash": tokens.hash_token("cab_" + "a" * 43)},
        )
        db.session.commit()
        upgrade(revision="0012")
        row = db.session.scalars(select(ApiToken)).one()
        assert (row.scopes, row.legacy_scopes) == ("read billing provisioning", True)
        caller = tokens.authenticate("cab_" + "a" * 43)
        assert caller == tokens.Caller("billing", frozenset(tokens.SCOPES))
        db.session.remove()
