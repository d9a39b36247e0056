from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cabinet.clock import Context
from cabinet.db import db
from tests.support.factories import make_client, seed_worked_example
from tests.support.moments import msk
from tests.support.sign_in import PASSWORD, csrf_token, sign_in

__all__ = ["PASSWORD", "csrf_token"]  # their old home: tests/support/sign_in.py now


class Auth:
    """Signs clients in and out through the real forms."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        return sign_in(self.client, email, password, expect=None)

    def post(self, url: str, data: dict[str, str] | None = None, **kwargs: object) -> TestResponse:
        """A form post carrying the page's CSRF token."""
        token = csrf_token(self.client.get("/referral").get_data(as_text=True))
        return self.client.post(url, data={**(data or {}), "csrf_token": token}, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@contextmanager
def outside_requests(app: Flask) -> Iterator[None]:
    """Set-up work in its own app context: requests must not share one (nor its `g`)."""
    with app.app_context():
        yield
        db.session.remove()


def web_client(app: Flask, client_id: int, name: str | None = None, **kwargs: object) -> str:
    """A client that can sign in; returns its e-mail."""
    email = f"c{client_id}@example.ru"
    with outside_requests(app):
        make_client(client_id, name, email=email, password=PASSWORD, **kwargs)  # type: ignore[arg-type]
    return email


def referrer_with_referees(
    app: Flask, referees: int = 3, *, emails: bool = False
) -> tuple[str, str]:
    """The help page's worked example with a referrer that can sign in: client 400
    «АльфаТелеком» (registered 01.01.2023) and the first `referees` of its referees.
    Returns the referrer's (e-mail, code)."""
    context: Context = app.extensions["context"]
    email = "c400@example.ru"
    with outside_requests(app):
        code = seed_worked_example(
            context,
            referees=referees,
            emails=emails,
            email=email,
            password=PASSWORD,
            registered_at=msk("2023-01-01 00:00"),
        )
    return email, code
