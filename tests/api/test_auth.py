"""Bearer tokens: issued once by the CLI, stored as a hash, revocable."""

from __future__ import annotations

import hashlib

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from cabinet.api.models import ApiToken
from cabinet.db import db
from tests.api.conftest import Api, assert_problem

EVENTS = "/api/v1/events"


def test_no_token_is_401_with_a_bearer_challenge(client: FlaskClient, token: str) -> None:
    response = client.get(EVENTS)
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="cabinet-api"'
    assert "Authorization: Bearer" in body["detail"]
    assert body["instance"] == EVENTS


def test_a_wrong_scheme_or_token_is_401(client: FlaskClient, token: str) -> None:
    for header in (f"Basic {token}", "Bearer", "Bearer cab_" + "x" * 43, f"Bearer {token}x"):
        response = client.get(EVENTS, headers={"Authorization": header})
        assert_problem(response, 401, "unauthorized")


def test_a_valid_token_opens_the_api(api: Api) -> None:
    assert api.get(EVENTS).status_code == 200
    lower = {"Authorization": f"bearer {api.token}"}  # the scheme is case-insensitive
    assert api.client.get(EVENTS, headers=lower).status_code == 200


def test_the_openapi_document_needs_no_token(client: FlaskClient) -> None:
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_cli_prints_the_token_once_and_stores_only_its_hash(
    app: Flask, runner: FlaskCliRunner
) -> None:
    result = runner.invoke(
        args=[
            "api-tokens",
            "create",
            "pbx-provisioning",
            "--scope",
            "read",
            "--scope",
            "provisioning",
        ]
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("cab_") and len(token) == 47
    with app.app_context():
        row = db.session.scalars(select(ApiToken)).one()
        assert row.name == "pbx-provisioning"
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.name, row.token_hash)
    listed = runner.invoke(args=["api-tokens", "list"])
    assert "pbx-provisioning" in listed.output and "действует" in listed.output
    assert token not in listed.output
    client = app.test_client()
    assert client.get(EVENTS, headers={"Authorization": f"Bearer {token}"}).status_code == 200

    revoked = runner.invoke(args=["api-tokens", "revoke", "pbx-provisioning"])
    assert revoked.exit_code == 0 and "отозван" in revoked.output
    response = client.get(EVENTS, headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401, "unauthorized")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert "отозван" in runner.invoke(args=["api-tokens", "list"]).output
    again = runner.invoke(args=["api-tokens", "revoke", "pbx-provisioning"])
    assert again.exit_code == 0 and "уже был отозван" in again.output


def test_cli_refuses_a_taken_or_malformed_name_and_an_unknown_token(
    runner: FlaskCliRunner,
) -> None:
    billing = ["--scope", "billing"]
    assert runner.invoke(args=["api-tokens", "create", "billing", *billing]).exit_code == 0
    taken = runner.invoke(args=["api-tokens", "create", "billing", *billing])
    assert taken.exit_code == 1 and "уже есть" in taken.output
    assert runner.invoke(args=["api-tokens", "create", "биллинг", *billing]).exit_code == 1
    unknown = runner.invoke(args=["api-tokens", "revoke", "nobody"])
    assert unknown.exit_code == 1 and "нет" in unknown.output
    assert runner.invoke(args=["api-tokens", "list"]).output.count("\n") == 1
