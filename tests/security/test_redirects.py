"""No open redirect: after signing in, moving the clock or revoking a referral, the browser
goes to a page of this site, whatever `next` or Referer says."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import PASSWORD, Auth, csrf_token, web_client
from tests.web.test_manage import MANAGER, make_manager, manager_login

EVIL = [
    "////evil.example",
    "//evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/%09/evil.example",
    "/\t/evil.example",
    "http:/evil.example",
]


def _stays_here(location: str) -> None:
    assert location.startswith("/") and not location.startswith("//"), location
    assert "evil" not in location, location


@pytest.mark.parametrize("target", EVIL)
def test_client_login_next(app: Flask, client: FlaskClient, auth: Auth, target: str) -> None:
    email = web_client(app, 9201)
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        _stays_here(response.headers["Location"])


def test_client_login_keeps_a_local_next(app: Flask, client: FlaskClient) -> None:
    email = web_client(app, 9202)
    token = csrf_token(client.get("/login").text)
    response = client.post(
        "/login?next=/referral%3Ftab%3Dclients",
        data={"email": email, "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/referral?tab=clients"


@pytest.mark.parametrize("target", EVIL)
def test_manager_login_next(app: Flask, client: FlaskClient, target: str) -> None:
    make_manager(app)
    token = csrf_token(client.get("/manage/login").text)
    response = client.post(
        "/manage/login",
        query_string={"next": target},
        data={"email": MANAGER, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        _stays_here(response.headers["Location"])


@pytest.mark.parametrize("target", EVIL)
def test_clock_next(app: Flask, client: FlaskClient, target: str, make_app: Any) -> None:
    make_manager(app)
    client = make_app(DEMO_MODE=True).test_client()  # the time machine is the demo's
    manager_login(client)
    token = csrf_token(client.get("/manage/dashboard").text)
    response = client.post(
        "/manage/clock", data={"jump": "day", "next": target, "csrf_token": token}
    )
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        _stays_here(response.headers["Location"])


@pytest.mark.parametrize(
    "referer",
    [
        "https://evil.example/manage/clients",
        "http://localhost//evil.example/x",
        "http://localhost////evil.example",
        "http://localhost/\\evil.example",
        "//evil.example",
    ],
)
def test_revoke_referer(app: Flask, client: FlaskClient, referer: str) -> None:
    make_manager(app)
    manager_login(client)
    token = csrf_token(client.get("/manage/dashboard").text)
    response = client.post(
        "/manage/referrals/1/revoke",
        data={"reason": "проверка", "csrf_token": token},
        headers={"Referer": referer},
    )
    assert response.status_code == 302
    _stays_here(response.headers["Location"])
    assert response.headers["Location"] == "/manage/clients"
