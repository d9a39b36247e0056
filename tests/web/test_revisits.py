"""The revisit gate (cabinet/revisits): a repeated read's 304 before Flask, named by the same
functions as the view's, with the same headers, and never for a session Flask would refuse."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_login.utils import _create_identifier
from sqlalchemy import update
from werkzeug.test import TestResponse

from cabinet.clients.models import Client
from cabinet.db import db, transaction
from cabinet.htmx import asked_in, is_htmx, wants_fragment
from cabinet.invitations import notices
from cabinet.revisits import RevisitGate, login_identifier
from tests.support.statements import queries, recorded
from tests.web.conftest import Auth, outside_requests, referrer_with_referees, web_client
from tests.web.test_conditional import READS
from tests.web.test_demo_panel import make_manager, open_cabinet, sign_in

# What only one answer has: its own id, and the name of its own content.
OWN = {"X-Request-Id", "ETag"}


def _gate(app: Flask) -> RevisitGate:
    gate: RevisitGate = app.extensions["revisits"]
    return gate


@pytest.fixture
def member(app: Flask, client: FlaskClient) -> FlaskClient:
    email, _ = referrer_with_referees(app, referees=2)
    Auth(client).login(email)
    client.get("/referral")  # the session's CSRF token, made by the first page
    return client


def _revisit(app: Flask, client: FlaskClient, url: str, headers: dict[str, str]) -> TestResponse:
    """The read again with the name its answer had: the second answer, with its statements
    counted."""
    first = client.get(url, headers=headers)
    assert first.status_code == 200
    with recorded(app) as statements:
        again = client.get(url, headers={**headers, "If-None-Match": first.headers["ETag"]})
    again.statements = queries(statements)  # type: ignore[attr-defined]
    return again


@pytest.mark.parametrize(("url", "headers"), READS, ids=[u for u, _ in READS])
def test_the_gate_answers_a_members_repeated_read_as_flask_would(
    app: Flask,
    member: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    headers: dict[str, str],
) -> None:
    gate = _gate(app)
    before = gate.answered
    by_gate = _revisit(app, member, url, headers)
    assert by_gate.status_code == 304
    assert gate.answered == before + 1  # the gate's name is the view's, to the byte
    assert len(by_gate.statements) == 1  # type: ignore[attr-defined]
    monkeypatch.setattr(gate, "_answer", lambda *_: None)
    by_flask = _revisit(app, member, url, headers)
    assert by_flask.status_code == 304
    assert gate.answered == before + 1
    assert {k: v for k, v in by_gate.headers.items() if k not in OWN} == {
        k: v for k, v in by_flask.headers.items() if k not in OWN
    }
    assert by_gate.headers["X-Request-Id"]


@pytest.mark.parametrize(("url", "headers"), READS, ids=[u for u, _ in READS])
def test_the_gate_sends_flasks_kept_answer_again_whole(
    app: Flask, member: FlaskClient, url: str, headers: dict[str, str]
) -> None:
    """Another browser of the same session (no `If-None-Match`): the answer Flask sent, kept
    whole (compressed as it was), with one statement and no render."""
    gate = _gate(app)
    browser = {**headers, "Accept-Encoding": "gzip, br"}
    first = member.get(url, headers=browser)
    before = gate.replayed
    with recorded(app) as statements:
        again = member.get(url, headers=browser)
    assert gate.replayed == before + 1
    assert len(queries(statements)) == 1
    assert again.status_code == 200
    assert again.headers["Content-Encoding"] == first.headers["Content-Encoding"] == "br"
    assert again.get_data() == first.get_data()
    assert {k: v for k, v in again.headers.items() if k != "X-Request-Id"} == {
        k: v for k, v in first.headers.items() if k != "X-Request-Id"
    }
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]


def test_a_change_is_never_answered_by_the_kept_answer(app: Flask, member: FlaskClient) -> None:
    """«Уведомлять о примененном коде» switched off: the next read is a new render, not the
    answer kept before the switch."""
    gate = _gate(app)
    before = member.get("/referral")
    member.get("/referral")
    replayed = gate.replayed
    with outside_requests(app):
        assert notices.set_switch(400, on=False)
    after = member.get("/referral")
    assert gate.replayed == replayed
    assert after.get_data() != before.get_data()
    assert after.headers["ETag"] != before.headers["ETag"]


def test_a_closed_client_gets_no_304(app: Flask, member: FlaskClient) -> None:
    first = member.get("/referral?tab=history", headers={"HX-Request": "true"})
    with outside_requests(app), transaction():
        db.session.execute(update(Client).where(Client.id == 400).values(status="closed"))
    again = member.get(
        "/referral?tab=history",
        headers={"HX-Request": "true", "If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 401  # htmx is sent to the sign-in page
    assert "ETag" not in again.headers


def test_a_managers_open_cabinet_is_flasks_to_answer(app: Flask, client: FlaskClient) -> None:
    make_manager(app, right=True)
    web_client(app, 407, "ТехСтрой")
    sign_in(client)
    assert open_cabinet(client, 407) == "/referral"
    first = client.get("/referral")
    gate = _gate(app)
    before = gate.answered
    again = client.get("/referral", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304  # Flask's: the view names the manager's look too
    assert gate.answered == before


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0"},
        {"User-Agent": "Mozilla/5.0", "X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
        {"X-Forwarded-For": "198.51.100.2"},
    ],
)
def test_the_gates_session_identifier_is_flask_logins(app: Flask, headers: dict[str, str]) -> None:
    with app.test_request_context("/referral", headers=headers) as context:
        assert login_identifier(context.request.environ) == _create_identifier()


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HX-Request": "true"},
        {"HX-Request": "TRUE"},
        {"HX-Request": "false"},
        {"HX-Request": "true", "HX-History-Restore-Request": "true"},
        {"HX-History-Restore-Request": "true"},
    ],
)
def test_the_gate_reads_htmx_as_the_view_does(app: Flask, headers: dict[str, str]) -> None:
    with app.test_request_context("/referral", headers=headers) as context:
        assert asked_in(context.request.environ) == (is_htmx(), wants_fragment())
