"""Signing in through the real forms: a client at `/login`, a manager at `/manage/login`; the
CSRF token of a page; managers made for a test."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cabinet.auth.services import create_manager
from cabinet.db import db

PASSWORD = "пароль-для-теста"
CLIENT_LOGIN = "/login"
MANAGER_LOGIN = "/manage/login"
_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)


def csrf_token(html: str) -> str:
    """The CSRF token of a page's form."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def sign_in(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    *,
    manager: bool = False,
    expect: int | None = 302,
) -> TestResponse:
    """Fill in and post the sign-in form (the manager's with `manager`); the response must have
    the status `expect` (302: signed in; None: any, for a test of a refusal)."""
    path = MANAGER_LOGIN if manager else CLIENT_LOGIN
    token = csrf_token(client.get(path).get_data(as_text=True))
    response = client.post(path, data={"email": email, "password": password, "csrf_token": token})
    if expect is not None:
        assert response.status_code == expect, (email, response.status_code, response.text)
    return response


def sign_in_manager(
    client: FlaskClient, email: str, password: str = PASSWORD, *, expect: int | None = 302
) -> TestResponse:
    """A manager signs in at `/manage/login`."""
    return sign_in(client, email, password, manager=True, expect=expect)


def make_manager(
    app: Flask,
    email: str,
    name: str = "Менеджер",
    password: str = PASSWORD,
    *,
    at: datetime | None = None,
    **rights: bool,
) -> int:
    """A manager that can sign in (`rights`: `edits_program_terms`, `opens_client_cabinets`),
    made in an app context of its own; returns its id."""
    with app.app_context():
        manager_id = create_manager(email, password, name, at or datetime.now(UTC), **rights).id
        db.session.remove()
    return manager_id
