"""Signing in and out: forms, cookies, server-side logout, idle timeout, access."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cabinet.clock import SettableClock
from tests.support.page import page as read
from tests.web.conftest import Auth, csrf_token, web_client


def test_every_cabinet_page_needs_a_login(client: FlaskClient) -> None:
    for url in ("/", "/referral", "/referral?tab=clients"):
        response = client.get(url, follow_redirects=True)
        assert response.request.path == "/login"
        assert "Войдите в личный кабинет" in response.get_data(as_text=True)


def test_posts_need_a_login_too(client: FlaskClient, auth: Auth) -> None:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    for url in ("/referral/apply", "/referral/join", "/logout"):
        response = client.post(url, data={"csrf_token": token})
        assert response.status_code == 302
        assert response.location.startswith("/login")


def test_htmx_requests_without_login_get_a_redirect_header(client: FlaskClient) -> None:
    response = client.get("/referral?tab=clients", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/login?next=")


def test_login_page_has_the_help_page_labels(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    form = read(html)
    assert (form.label_of("email"), form.label_of("password")) == ("Email", "Пароль")
    assert "Войти" in form.buttons()


def test_login_and_logout(app: Flask, client: FlaskClient, auth: Auth) -> None:
    email = web_client(app, 407, "ТехСтрой")
    response = auth.login(email)
    assert response.status_code == 302 and response.location == "/referral"
    page = client.get("/referral").get_data(as_text=True)
    assert "ТехСтрой" in page and "ID 407" in page
    assert read(page).one("h1").text == "Реферальная программа"
    assert "Меню кабинета" not in page  # one page: no one-item menu
    token = csrf_token(page)
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=True)
    assert "Вы вышли из личного кабинета." in out.get_data(as_text=True)
    assert client.get("/referral").status_code == 302


@pytest.mark.parametrize(
    ("email", "password"),
    [("c407@example.ru", "неверный-пароль"), ("nobody@example.ru", "пароль-для-теста")],
)
def test_wrong_credentials_are_refused_the_same_way(
    app: Flask, auth: Auth, email: str, password: str
) -> None:
    web_client(app, 407)
    response = auth.login(email, password)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Неверный email или пароль." in html
    assert f'value="{email}"' in html  # the typed e-mail is kept


def test_empty_fields_are_explained(client: FlaskClient) -> None:
    token = csrf_token(client.get("/login").get_data(as_text=True))
    html = client.post("/login", data={"csrf_token": token}).get_data(as_text=True)
    assert "Введите email." in html and "Введите пароль." in html
    assert 'aria-describedby="email-error"' in html


def test_closed_clients_cannot_log_in(app: Flask, auth: Auth) -> None:
    email = web_client(app, 407, status="closed")
    response = auth.login(email)
    assert response.status_code == 422
    assert "Договор закрыт" in response.get_data(as_text=True)


def test_session_cookie_flags(app: Flask, client: FlaskClient, auth: Auth) -> None:
    response = auth.login(web_client(app, 407))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain http


def test_production_cookies_are_secure(make_app: Callable[..., Flask]) -> None:
    production = make_app(
        CABINET_ENV="production",
        SECRET_KEY="p" * 40,
        RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15",
    )
    assert production.config["SESSION_COOKIE_SECURE"] is True
    assert production.config["SESSION_COOKIE_HTTPONLY"] is True


def test_login_starts_a_fresh_session(app: Flask, client: FlaskClient, auth: Auth) -> None:
    email = web_client(app, 407)
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    auth.login(email)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"].startswith("407.")


def test_a_replayed_cookie_after_logout_is_refused(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 407))
    stolen = client.get_cookie("cabinet_session")
    assert stolen is not None
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/referral").text)})
    replay = app.test_client()
    replay.set_cookie("cabinet_session", stolen.value)
    assert replay.get("/referral").status_code == 302


def test_the_session_ends_after_the_idle_timeout(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    auth.login(web_client(app, 407))
    assert client.get("/referral").status_code == 200
    idle = app.config["PERMANENT_SESSION_LIFETIME"]
    clock.set(clock.now() + idle + timedelta(seconds=60))
    response = client.get("/referral")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_the_idle_timeout_slides_without_re_signing_every_response(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    from cabinet.web.sessions import REFRESH_AFTER_SECONDS

    auth.login(web_client(app, 407))
    client.get("/referral")  # the first page with a form adds the CSRF token to the session
    # Within a minute of signing: the page, and no new cookie.
    again = client.get("/referral")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
    # Later, yet within the idle timeout: signed again, so the timeout starts over.
    idle = app.config["PERMANENT_SESSION_LIFETIME"]
    now = clock.now()
    clock.set(now + timedelta(seconds=REFRESH_AFTER_SECONDS + 1))
    refreshed = client.get("/referral")
    assert refreshed.status_code == 200 and "Set-Cookie" in refreshed.headers
    # Past the first signature's timeout but within the second one's: still signed in.
    clock.set(now + idle + timedelta(seconds=30))
    assert client.get("/referral").status_code == 200


def test_a_cookie_seen_before_gives_each_request_a_session_of_its_own(
    app: Flask, clock: SettableClock
) -> None:
    """A signature checked once is not checked again; what a request changes in its session
    stays its own, and the idle timeout still ends a kept one."""
    from flask import session

    interface = app.session_interface
    serializer = interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    cookie = serializer.dumps({"_user_id": "407", "_permanent": True})
    name = app.config["SESSION_COOKIE_NAME"]
    for _ in range(2):
        with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
            assert session.get("_user_id") == "407" and "changed" not in session
            session["changed"] = "yes"
            session["_user_id"] = "999"
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}x"}):
        assert not session  # a signature that does not hold
    clock.set(clock.now() + app.config["PERMANENT_SESSION_LIFETIME"] + timedelta(seconds=1))
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
        assert not session  # idle too long, though seen before


def test_next_is_followed_only_within_the_site(app: Flask, client: FlaskClient) -> None:
    email = web_client(app, 407)
    for target, expected in [
        ("/referral?tab=clients", "/referral?tab=clients"),
        ("//evil.example/x", "/referral"),
        ("https://evil.example/", "/referral"),
    ]:
        token = csrf_token(client.get("/login").get_data(as_text=True))
        response = client.post(
            "/login",
            query_string={"next": target},
            data={"email": email, "password": "пароль-для-теста", "csrf_token": token},
        )
        assert response.location == expected
        client.post("/logout", data={"csrf_token": csrf_token(client.get("/referral").text)})


def test_demo_accounts_are_listed_only_in_demo_mode(
    client: FlaskClient, make_app: Callable[..., Flask]
) -> None:
    assert "info@alfatelecom.ru" not in client.get("/login").get_data(as_text=True)
    demo = make_app(DEMO_MODE=True)
    html = demo.test_client().get("/login").get_data(as_text=True)
    assert "info@alfatelecom.ru" in html and "demo12345" in html
