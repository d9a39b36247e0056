"""The signed CSRF token is worked out once per session's raw token (cabinet/web/csrf_tokens.py),
and is the token Flask-WTF accepts.

Flask-WTF signs with the time in whole seconds: a token signed anew in another second differs,
so two pages a second apart show whether the token was kept or signed again."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import Auth, csrf_token, web_client


def _next_second() -> None:
    time.sleep(1.02 - time.time() % 1)


def test_a_session_keeps_its_signed_token_and_the_token_is_accepted(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 471, "Ромашка"))
    client.get("/referral")  # the session's raw token is made here, and kept from the next page
    first = csrf_token(client.get("/referral?tab=clients").text)
    _next_second()
    again = csrf_token(client.get("/referral?tab=invitations").text)
    assert again == first
    joined = client.post("/referral/join", data={"csrf_token": again}, follow_redirects=True)
    assert joined.status_code == 200 and "Вы участвуете в программе." in joined.text


def test_another_session_gets_its_own_token(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 472))
    client.get("/referral")
    mine = csrf_token(client.get("/referral").text)
    other = app.test_client()
    Auth(other).login(web_client(app, 473))
    other.get("/referral")
    theirs = csrf_token(other.get("/referral").text)
    assert mine != theirs
    refused = other.post("/referral/join", data={"csrf_token": mine})
    assert refused.status_code == 400 and "Страница устарела" in refused.text


def test_with_a_time_limit_every_page_signs_anew(
    app: Flask, client: FlaskClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_TIME_LIMIT", 3600)
    auth.login(web_client(app, 474))
    client.get("/referral")
    first = csrf_token(client.get("/referral?tab=clients").text)
    _next_second()
    assert csrf_token(client.get("/referral?tab=invitations").text) != first
