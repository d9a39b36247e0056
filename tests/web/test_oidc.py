"""Signing in through the operator's identity provider (OpenID Connect), against a real
provider running locally (tests/oidc/provider.mjs: panva's oidc-provider), never a mock.

The person's part at the provider (its login form) is played over HTTP by
`sign_in_at_provider`; the cabinet is the Flask test client. What the person sees is asserted:
the client's name in the cabinet's header, the Russian page that says why not."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from cabinet.auth.services import create_manager
from cabinet.clock import SettableClock
from tests.conftest import FAST_PASSWORD_HASHING, msk
from tests.oidc.provider import CLIENT_ID, Provider, running_provider, sign_in_at_provider
from tests.support.page import page as read
from tests.web.conftest import csrf_token, outside_requests, web_client

CABINET = "http://127.0.0.1:5000"  # the cabinet's address as the provider knows it


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def oidc_clock() -> SettableClock:
    """The OIDC app's clock: now (the provider's tokens carry the real time), moved by tests."""
    return SettableClock(datetime.now(UTC))


@pytest.fixture
def oidc_app(
    make_app: Callable[..., Flask], provider: Provider, database: None, oidc_clock: SettableClock
) -> Flask:
    return make_app(
        clock=oidc_clock,
        TESTING=True,
        PASSWORD_HASH_METHOD=FAST_PASSWORD_HASHING,
        **provider.settings(CABINET),
    )


@pytest.fixture
def browser(oidc_app: Flask) -> FlaskClient:
    return oidc_app.test_client()


def start(browser: FlaskClient, path: str = "/login/oidc") -> str:
    """«Войти»: the cabinet sends the browser to the provider; its authorization address."""
    response = browser.get(path)
    assert response.status_code == 302, response.text
    return response.location


def local(url: str) -> str:
    """The callback address as a path for the test client (the cabinet is at CABINET)."""
    assert url.startswith(CABINET + "/login/oidc/callback?"), url
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def sign_in(browser: FlaskClient, login: str, path: str = "/login/oidc") -> requests.Response:
    back = sign_in_at_provider(start(browser, path), login)
    return browser.get(local(back))  # type: ignore[return-value]


def header(browser: FlaskClient) -> str:
    page = browser.get("/referral", follow_redirects=True)
    return page.get_data(as_text=True)


def manager(app: Flask, email: str, name: str) -> None:
    with outside_requests(app):
        create_manager(email, "пароль-менеджера", name, msk("2023-03-01 09:00"))


def assert_signed_out(browser: FlaskClient) -> None:
    response = browser.get("/referral")
    assert response.status_code == 302 and response.location.startswith("/login")


def test_the_login_page_offers_the_provider(browser: FlaskClient) -> None:
    html = browser.get("/login").get_data(as_text=True)
    assert ("Войти", "/login/oidc") in read(html).links()
    # Password sign-in stays beside it outside production (demo and development).
    assert "Войти по паролю" in read(html).buttons()


def test_the_authorization_request_uses_pkce_state_and_nonce(
    browser: FlaskClient, provider: Provider
) -> None:
    url = start(browser)
    assert url.startswith(provider.issuer + "/auth?")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"] and query["client_id"] == [CLIENT_ID]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [CABINET + "/login/oidc/callback"]
    assert "openid" in query["scope"][0].split()


def test_a_client_signs_in_and_lands_in_its_cabinet(oidc_app: Flask, browser: FlaskClient) -> None:
    web_client(oidc_app, 407, "ТехСтрой")
    web_client(oidc_app, 408, "ТехКомплект")
    response = sign_in(browser, "client:407")
    assert response.status_code == 302 and response.location == "/referral"
    page = header(browser)
    assert "ТехСтрой" in page and "ID 407" in page and "ТехКомплект" not in page
    assert read(page).one("h1").text == "Реферальная программа"


def test_next_survives_the_trip_to_the_provider(oidc_app: Flask, browser: FlaskClient) -> None:
    web_client(oidc_app, 407)
    response = sign_in(browser, "client:407", "/login/oidc?next=/referral?tab%3Dclients")
    assert response.location == "/referral?tab=clients"


def test_a_wrong_state_is_refused_and_no_session_starts(
    oidc_app: Flask, browser: FlaskClient
) -> None:
    web_client(oidc_app, 407)
    back = sign_in_at_provider(start(browser), "client:407")
    forged = local(back).replace("state=", "state=x")
    response = browser.get(forged)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Вход не удался" in html and "не прошел проверку" in html
    assert_signed_out(browser)


def test_a_replayed_code_is_refused(oidc_app: Flask, browser: FlaskClient) -> None:
    web_client(oidc_app, 407, "ТехСтрой")
    back = sign_in_at_provider(start(browser), "client:407")
    # The session cookie as it was before the provider's answer: state, nonce and verifier.
    before = browser.get_cookie("cabinet_session")
    assert before is not None
    assert browser.get(local(back)).status_code == 302
    assert "ТехСтрой" in header(browser)
    # The same answer again, with everything the cabinet had kept for it: the provider
    # refuses a code it has already exchanged.
    replay = oidc_app.test_client()
    replay.set_cookie("cabinet_session", before.value)
    response = replay.get(local(back))
    assert response.status_code == 400 and "Вход не удался" in response.get_data(as_text=True)
    assert_signed_out(replay)
    # And in the browser that used it, the state was spent: refused too.
    again = oidc_app.test_client()
    assert again.get(local(back)).status_code == 400


@pytest.mark.parametrize(
    ("twist", "logged"),
    [
        # An ID token issued to another client of the provider (its azp names the cabinet).
        ("other-audience", "Invalid claim: 'aud'"),
        ("expired", "ExpiredTokenError"),  # a token that expired a quarter of an hour ago
        ("tampered", "BadSignatureError"),  # the claim changed after signing
        ("wrong-issuer", "Invalid claim: 'iss'"),  # the provider's key
    ],
)
def test_an_id_token_that_fails_verification_is_refused(
    oidc_app: Flask,
    browser: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    twist: str,
    logged: str,
) -> None:
    web_client(oidc_app, 407)
    web_client(oidc_app, 1)  # the client a tampered token would name
    response = sign_in(browser, f"client:407:{twist}")
    assert response.status_code == 400
    assert "Ответ сервера входа не прошел проверку" in response.get_data(as_text=True)
    assert_signed_out(browser)
    failures = [m for r in caplog.records if "oidc sign-in failed" in (m := r.getMessage())]
    assert len(failures) == 1 and logged in failures[0]


def test_cancelling_at_the_provider_is_explained(browser: FlaskClient, provider: Provider) -> None:
    at_provider = requests.Session()
    login_page = at_provider.get(start(browser), timeout=10)
    assert 'name="login"' in login_page.text
    cancel = login_page.text.split('href="', 1)[1].split('"', 1)[0]
    assert cancel.endswith("/abort")
    back = at_provider.get(cancel, allow_redirects=False, timeout=10)
    resumed = at_provider.get(back.headers["Location"], allow_redirects=False, timeout=10)
    assert "error=access_denied" in resumed.headers["Location"]
    response = browser.get(local(resumed.headers["Location"]))
    assert response.status_code == 400 and "Вход не удался" in response.get_data(as_text=True)
    assert_signed_out(browser)


@pytest.mark.parametrize("login", ["client:999", "somebody-else"])
def test_an_unknown_client_gets_a_clear_page_and_no_session(
    browser: FlaskClient, login: str
) -> None:
    response = sign_in(browser, login)
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "не связана ни с одним договором «Корпоративной АТС»" in html
    assert 'href="/login"' in html
    assert_signed_out(browser)


def test_a_closed_client_is_refused(oidc_app: Flask, browser: FlaskClient) -> None:
    web_client(oidc_app, 407, status="closed")
    response = sign_in(browser, "client:407")
    assert response.status_code == 403
    assert "Договор закрыт: вход в личный кабинет недоступен." in response.get_data(as_text=True)
    assert_signed_out(browser)


def test_sign_out_ends_the_providers_session_and_the_old_cookie(
    oidc_app: Flask, provider: Provider
) -> None:
    web_client(oidc_app, 407, "ТехСтрой")
    browser = oidc_app.test_client()
    at_provider = requests.Session()  # the browser's cookies at the provider
    back = sign_in_at_provider(start(browser), "client:407", at_provider)
    browser.get(local(back))
    page = header(browser)
    stolen = browser.get_cookie("cabinet_session")
    assert stolen is not None and "ТехСтрой" in page

    out = browser.post("/logout", data={"csrf_token": csrf_token(page)})
    assert out.status_code == 302
    discovery = requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10)
    end_session = discovery.json()["end_session_endpoint"]
    assert out.location.startswith(end_session + "?")
    query = parse_qs(urlsplit(out.location).query)
    assert query["post_logout_redirect_uri"] == [CABINET + "/login"]
    assert query["id_token_hint"][0].count(".") == 2

    # The provider asks to confirm, ends its session and sends the browser back.
    confirm = at_provider.get(out.location, timeout=10)
    assert confirm.status_code == 200 and "op.logoutForm" in confirm.text
    form_action = confirm.text.split('action="', 1)[1].split('"', 1)[0]
    xsrf = confirm.text.split('name="xsrf" value="', 1)[1].split('"', 1)[0]
    done = at_provider.post(
        requests.compat.urljoin(out.location, form_action),
        data={"xsrf": xsrf, "logout": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert done.status_code in (302, 303)
    assert done.headers["Location"].startswith(CABINET + "/login")
    assert "Вы вышли из личного кабинета." in browser.get("/login").get_data(as_text=True)

    # The old cookie no longer opens the cabinet.
    replay = oidc_app.test_client()
    replay.set_cookie("cabinet_session", stolen.value)
    assert_signed_out(replay)
    # At the provider, the next «Войти» asks for the login again (its session is over).
    again = at_provider.get(start(oidc_app.test_client()), timeout=10)
    assert 'name="login"' in again.text


def test_the_idle_timeout_ends_an_oidc_session(
    oidc_app: Flask, browser: FlaskClient, oidc_clock: SettableClock
) -> None:
    web_client(oidc_app, 407, "ТехСтрой")
    sign_in(browser, "client:407")
    assert "ТехСтрой" in header(browser)
    idle = oidc_app.config["PERMANENT_SESSION_LIFETIME"]
    oidc_clock.set(oidc_clock.now() + idle + timedelta(seconds=60))
    assert_signed_out(browser)


def test_a_manager_signs_in_by_role_and_email(oidc_app: Flask, browser: FlaskClient) -> None:
    manager(oidc_app, "boss@example.ru", "Анна Петрова")
    response = sign_in(browser, "manager:boss@example.ru", "/manage/login/oidc")
    assert response.status_code == 302 and response.location == "/manage/dashboard"
    page = browser.get("/manage/dashboard").get_data(as_text=True)
    assert "Анна Петрова" in page and "менеджер" in page


def test_a_manager_signs_out_of_the_provider_too(oidc_app: Flask, browser: FlaskClient) -> None:
    manager(oidc_app, "boss@example.ru", "Анна Петрова")
    sign_in(browser, "manager:boss@example.ru", "/manage/login/oidc")
    page = browser.get("/manage/dashboard").get_data(as_text=True)
    out = browser.post("/manage/logout", data={"csrf_token": csrf_token(page)})
    query = parse_qs(urlsplit(out.location).query)
    assert query["post_logout_redirect_uri"] == [CABINET + "/manage/login"]
    assert "Вы вышли из панели менеджера." in browser.get("/manage/login").get_data(as_text=True)
    assert browser.get("/manage/dashboard").status_code == 302


@pytest.mark.parametrize(
    ("login", "words"),
    [
        ("staff:boss@example.ru", "нет роли менеджера реферальной программы"),
        ("manager:stranger@example.ru", "Менеджер с адресом stranger@example.ru не заведен"),
    ],
)
def test_a_manager_without_the_role_or_the_row_is_refused(
    oidc_app: Flask, browser: FlaskClient, login: str, words: str
) -> None:
    manager(oidc_app, "boss@example.ru", "Анна Петрова")
    response = sign_in(browser, login, "/manage/login/oidc")
    assert response.status_code == 403 and words in response.get_data(as_text=True)
    assert browser.get("/manage/dashboard").status_code == 302


def test_a_client_account_cannot_open_the_managers_panel(
    oidc_app: Flask, browser: FlaskClient
) -> None:
    web_client(oidc_app, 407)
    response = sign_in(browser, "client:407", "/manage/login/oidc")
    assert response.status_code == 403
    assert "нет роли менеджера" in response.get_data(as_text=True)


def test_password_sign_in_can_be_turned_off(
    make_app: Callable[..., Flask], provider: Provider, database: None
) -> None:
    app = make_app(
        TESTING=True,
        PASSWORD_HASH_METHOD=FAST_PASSWORD_HASHING,
        PASSWORD_SIGN_IN=False,
        WTF_CSRF_ENABLED=False,  # the page has no form to take a token from
        **provider.settings(CABINET),
    )
    email = web_client(app, 407)
    browser = app.test_client()
    html = browser.get("/login").get_data(as_text=True)
    assert ("Войти", "/login/oidc") in read(html).links()
    assert not read(html).all("input", name="password")
    response = browser.post("/login", data={"email": email, "password": "пароль-для-теста"})
    assert response.status_code == 403
    assert "Вход по паролю отключен" in response.get_data(as_text=True)
    assert_signed_out(browser)


def test_the_provider_down_is_a_clear_503(make_app: Callable[..., Flask], database: None) -> None:
    app = make_app(
        TESTING=True,
        OIDC_ISSUER="http://127.0.0.1:9",  # nothing listens there
        OIDC_CLIENT_ID=CLIENT_ID,
        OIDC_CLIENT_SECRET="secret",
        OIDC_TIMEOUT_SECONDS=2,
    )
    response = app.test_client().get("/login/oidc")
    assert response.status_code == 503
    assert "Сервер входа «Корпоративной АТС» не отвечает" in response.get_data(as_text=True)
