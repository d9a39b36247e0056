"""Hostile input that once reached the database or the page: each case answered with a 4xx
(or a re-rendered form), never a 5xx, and nothing stored."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from cabinet import inputs
from cabinet.clients.models import Client
from cabinet.db import db
from tests.api.conftest import Api, assert_problem
from tests.web.conftest import Auth, web_client

BIG = inputs.MAX_CONTENT_LENGTH


def test_a_nul_byte_in_a_query_parameter_is_a_400(client: FlaskClient) -> None:
    response = client.get("/login?next=%00")
    assert response.status_code == 400
    assert "недопустимые символы" in response.get_data(as_text=True)
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_nul_byte_in_the_login_email_is_refused_not_a_500(client: FlaskClient) -> None:
    """On PostgreSQL a NUL in a string parameter used to raise inside the driver."""
    response = client.post("/login", data={"email": "a\x00@example.ru", "password": "x"})
    assert response.status_code == 400


def test_control_characters_in_form_values_are_refused(app: Flask, auth: Auth) -> None:
    web_client(app, 9001)
    auth.login("c9001@example.ru")
    for value in ("\x00", "a\x1bb", "\x7f", "\x85"):
        response = auth.post("/referral/apply", {"code": value})
        assert response.status_code in (400, 422), value


def test_a_body_over_the_limit_is_refused_before_it_is_read(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "x" * (BIG + 1), "password": "p"})
    assert response.status_code == 413
    assert len(response.get_data()) < 20_000  # nothing of it comes back


def test_huge_ids_in_manager_routes_are_404_not_an_overflow(client: FlaskClient) -> None:
    for raw in ("2147483648", "9223372036854775808", "99999999999999999999999"):
        assert client.get(f"/manage/clients/{raw}").status_code == 404
        assert client.post(f"/manage/referrals/{raw}/revoke").status_code in (400, 404)
        assert client.post(f"/login/demo/{raw}").status_code in (400, 404)


def test_api_strings_with_nul_surrogates_or_line_breaks_are_422(api: Api, app: Flask) -> None:
    """A lone surrogate once crashed the problem handler itself; CR/LF in a name reached the
    Subject of the invitation e-mail."""
    for field, value in [
        ("name", "ООО\x00Ромашка"),
        ("name", "\ud800"),
        ("name", "Имя\r\nBcc: all@example.ru"),
        ("name", "Имя\u202eакшамоР"),
        ("email", "x\ud800@example.ru"),
        ("phone", "+7910\x001234567"),
    ]:
        body = {"name": "Клиент", "registered_at": "2023-03-20", field: value}
        found = assert_problem(api.put("/api/v1/clients/777", body), 422, "validation-failed")
        assert found["errors"][0]["pointer"] == f"/{field}"
    surrogate_key = {"name": "Клиент", "registered_at": "2023-03-20", "\udc00": 1}
    assert_problem(api.put("/api/v1/clients/777", surrogate_key), 422, "validation-failed")
    with app.app_context():
        assert db.session.get(Client, 777) is None


def test_api_raw_json_with_an_escaped_surrogate_is_a_problem(api: Api) -> None:
    raw = '{"name": "\\ud800", "registered_at": "2023-03-20", "email": "\\udfff@x.ru"}'
    response = api.client.put(
        "/api/v1/clients/778",
        data=raw,
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 422, "validation-failed")
    response.get_data(as_text=True).encode("utf-8")  # the answer itself is valid UTF-8


def test_safe_redirect_target_keeps_to_this_site() -> None:
    ok = "/referral?tab=clients"
    assert inputs.safe_redirect_target(ok, "/d") == ok
    for evil in (
        "//evil.example",
        "////evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "http:evil.example",
        "/%2F%2Fevil.example",
        "/\tevil",
        " /x",
        "javascript:alert(1)",
        "/%09/evil.example",
        "",
        None,
    ):
        assert inputs.safe_redirect_target(evil, "/d") == "/d", evil


def test_bounded_int() -> None:
    assert inputs.bounded_int("42") == 42
    for raw in (None, "", "-1", "0", "1e3", "٣", "2147483648", "9" * 40, " 1"):
        assert inputs.bounded_int(raw) is None, raw


def test_a_long_code_is_refused_and_not_echoed(app: Flask, auth: Auth) -> None:
    """A 50 MB code was read whole and came back in the page (52 MB)."""
    web_client(app, 9002)
    auth.login("c9002@example.ru")
    huge = "7" * 100_000
    response = auth.post("/referral/apply", {"code": huge})
    assert response.status_code == 422
    assert "Слишком длинный код." in response.text
    assert huge[:1000] not in response.text


def test_line_breaks_and_bidi_overrides_in_single_line_fields_are_refused(
    app: Flask, auth: Auth
) -> None:
    web_client(app, 9003)
    auth.login("c9003@example.ru")
    for value in ("abc\r\ndef", "5e83\u202ee12b1"):
        response = auth.post("/referral/apply", {"code": value})
        assert response.status_code == 422
        assert "Недопустимые символы" in response.text


def test_behind_a_trusted_proxy_the_client_address_comes_from_x_forwarded_for(
    make_app: Callable[..., Flask],
) -> None:
    """Per-IP limits behind nginx count the client, not nginx (TRUSTED_PROXIES=1)."""
    seen: list[str] = []
    for hops in (0, 1):
        other = make_app(TRUSTED_PROXIES=hops)

        @other.get("/_who")
        def who() -> str:
            from flask import request

            seen.append(str(request.remote_addr))
            return ""

        other.test_client().get("/_who", headers={"X-Forwarded-For": "203.0.113.7"})
    assert seen == ["127.0.0.1", "203.0.113.7"]
