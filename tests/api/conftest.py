"""The API's fixtures: a token, a client that sends it, the help page's worked example."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cabinet.api import tokens
from cabinet.clock import Context
from tests.factories import seed_worked_example


class Api:
    """The Flask test client with a bearer token on every request."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers=self.headers, **kwargs)

    def put(self, path: str, json: Any, **kwargs: Any) -> TestResponse:
        return self.client.put(path, json=json, headers=self.headers, **kwargs)

    def post(self, path: str, json: Any, **kwargs: Any) -> TestResponse:
        return self.client.post(path, json=json, headers=self.headers, **kwargs)


@pytest.fixture
def token(app: Flask, database: None, context: Context) -> str:
    with app.app_context():
        return tokens.issue(context, "billing").token


@pytest.fixture
def api(client: FlaskClient, token: str) -> Api:
    return Api(client, token)


@pytest.fixture
def worked_example(app: Flask, database: None, context: Context) -> str:
    with app.app_context():
        return seed_worked_example(context)


def assert_problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    """A problem details response (RFC 9457) with a Russian detail."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json(force=True)
    assert body["type"] == f"urn:cabinet:problem:{slug}"
    assert body["status"] == status
    assert any("а" <= ch <= "я" for ch in body["detail"].lower())  # Cyrillic, for people
    return body
