"""The database unreachable, or accepting connections and never answering: every request gets
a quick 503 (an HTML page with the security headers, or problem+json for the API) instead of a
hung worker or a bare «Internal Server Error», and the cabinet recovers by itself."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.engine import make_url

from cabinet.clock import SettableClock
from cabinet.db import db
from tests.api.conftest import Api
from tests.security.figures import record_fault
from tests.tcp_proxy import stalling_proxy
from tests.web.conftest import Auth, web_client

SECRET = "test-secret-key-that-is-long-enough-000"  # the session app's, so its cookie is valid


def assert_503_page(response: object) -> None:
    assert response.status_code == 503  # type: ignore[attr-defined]
    headers = response.headers  # type: ignore[attr-defined]
    assert headers["Retry-After"]
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert "Сервис временно недоступен" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_signed_in_client_gets_a_503_page_and_the_cabinet_recovers(
    app: Flask,
    auth: Auth,
    client: FlaskClient,
    make_app: Callable[..., Flask],
    tmp_path: Path,
    clock: SettableClock,
) -> None:
    web_client(app, 9101)
    assert auth.login("c9101@example.ru").status_code == 302
    cookie = client.get_cookie("cabinet_session")
    assert cookie is not None
    missing = tmp_path / "not-yet" / "cabinet.sqlite3"
    # The session app's clock too: the cookie's age is measured on it.
    broken = make_app(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{missing}", SECRET_KEY=SECRET, clock=clock
    )
    web = broken.test_client()
    web.set_cookie("cabinet_session", cookie.value)
    assert_503_page(web.get("/referral"))
    assert_503_page(web.get("/login"))
    hx = web.get("/referral?tab=clients", headers={"HX-Request": "true"})
    assert hx.status_code == 503 and hx.headers["HX-Retarget"] == "#alerts"

    missing.parent.mkdir()  # the database is back: no restart of the app
    with broken.app_context():
        upgrade()
    assert web.get("/login").status_code == 200


def test_the_api_answers_503_problem_json(
    api: Api, make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    broken = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'no' / 'db.sqlite3'}")
    response = broken.test_client().get("/api/v1/events", headers=api.headers)
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["type"] == "urn:cabinet:problem:service-unavailable"
    assert response.headers["Retry-After"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def _postgres_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("только на PostgreSQL (TEST_DATABASE_URL): тайм-ауты соединения")
    return url


def test_a_postgresql_that_never_answers_costs_seconds_and_recovery_needs_no_restart(
    app: Flask,
    auth: Auth,
    client: FlaskClient,
    make_app: Callable[..., Flask],
    clock: SettableClock,
) -> None:
    _postgres_url()
    web_client(app, 9102)
    assert auth.login("c9102@example.ru").status_code == 302
    cookie = client.get_cookie("cabinet_session")
    assert cookie is not None
    real = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    with stalling_proxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        via_proxy = real.set(host="127.0.0.1", port=proxy.port)
        other = make_app(
            SQLALCHEMY_DATABASE_URI=via_proxy.render_as_string(hide_password=False),
            SECRET_KEY=SECRET,
            DB_CONNECT_TIMEOUT_SECONDS=1,
            clock=clock,
        )
        web = other.test_client()
        web.set_cookie("cabinet_session", cookie.value)
        assert web.get("/referral").status_code == 200

        proxy.stall()  # open connections dropped, new ones accepted and never answered
        started = time.monotonic()
        assert_503_page(web.get("/referral"))
        answered_in = time.monotonic() - started
        assert answered_in < 8  # not the 30 s of a hung worker

        proxy.resume()
        assert web.get("/referral").status_code == 200
        record_fault(
            "database_never_answers",
            connect_timeout_seconds=1,
            answer_seconds=round(answered_in, 2),
            status=503,
            recovered_without_restart=True,
        )
        with other.app_context():
            db.engine.dispose()


def test_a_connection_the_server_ended_is_replaced_before_use(
    app: Flask, auth: Auth, client: FlaskClient
) -> None:
    """A restart (here: the server ending the sessions of the app's pooled connection and of
    the revisit gate's) costs no request a failure, without a ping before every checkout
    (cabinet/db.py, `_checked_on_checkout`)."""
    url = _postgres_url()
    web_client(app, 9103)
    assert auth.login("c9103@example.ru").status_code == 302
    client.get("/referral")  # the session's CSRF token: the next page is named
    page = client.get("/referral")
    assert page.status_code == 200
    gate = app.extensions["revisits"].reads._connection()  # noqa: SLF001 - its own, made first
    assert client.get("/referral").status_code == 200  # a pooled connection, used and back
    with app.app_context():
        pooled = [db.engine.connect() for _ in range(db.engine.pool.checkedin())]  # type: ignore[attr-defined]
        backends = {c.execute(text("SELECT pg_backend_pid()")).scalar() for c in pooled}
        for connection in pooled:
            connection.close()
    assert backends
    backends.add(gate.info.backend_pid)
    with psycopg.connect(
        make_url(url).set(drivername="postgresql").render_as_string(False)
    ) as admin:
        for pid in backends:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)  # the server's goodbye reaches the sockets
    tab = {"HX-Request": "true"}
    assert client.get("/referral").status_code == 200
    assert client.get("/referral", headers={"If-None-Match": page.headers["ETag"]}).status_code in (
        200,
        304,
    )
    assert client.get("/referral?tab=clients", headers=tab).status_code == 200
