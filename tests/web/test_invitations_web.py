"""«Пригласить» over HTTP: the dialog, sending, errors, limits, the tab, unsubscribing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.referrals import services
from tests.conftest import msk
from tests.support.page import page as read
from tests.web.conftest import PASSWORD, Auth, csrf_token, outside_requests, web_client

HX = {"HX-Request": "true"}


def member(app: Flask, client: FlaskClient, auth: Auth, client_id: int = 400) -> None:
    email = web_client(app, client_id, "АльфаТелеком", registered_at=msk("2023-01-01 00:00"))
    context: Context = app.extensions["context"]
    with outside_requests(app):
        services.join(context.at(msk("2023-03-01 09:00")), client_id)
    auth.login(email)


def queued(app: Flask) -> list[Invitation]:
    with outside_requests(app):
        return list(db.session.scalars(select(Invitation)))


def test_the_dialog_is_a_fragment_for_htmx_and_a_page_without_it(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    dialog = client.get("/referral/invite?channel=sms", headers=HX).get_data(as_text=True)
    shown = read(dialog).first()  # the dialog alone, not the page
    assert (shown.tag, shown.attrs["id"]) == ("dialog", "share-dialog")
    assert all(
        words in shown.text for words in ("Поделиться кодом", "Отправить email", "Отправить SMS")
    )
    assert shown.label_of("recipient") == "Номер телефона получателя"
    assert shown.by_id("recipient").attrs["placeholder"] == "+7 910 123-45-67"
    assert "Пригласить" in shown.buttons()
    email_form = read(client.get("/referral/invite?channel=email&part=form", headers=HX).text)
    assert (email_form.first().tag, email_form.first().attrs["id"]) == ("div", "share-form")
    assert email_form.by_id("recipient").attrs["type"] == "email"
    page = read(client.get("/referral/invite?channel=email").get_data(as_text=True))
    assert page.all("html") and page.by_id("recipient").attrs["type"] == "email"


def test_send_an_sms_with_htmx(app: Flask, client: FlaskClient, auth: Auth) -> None:
    member(app, client, auth)
    token = csrf_token(client.get("/referral").text)
    response = client.post(
        "/referral/invite",
        data={"channel": "sms", "recipient": "89101234567", "consent": "y"},
        headers={**HX, "X-CSRFToken": token},
    )
    assert response.status_code == 200
    # the outcome stays in the dialog (its status region, swapped out of band), not behind it
    assert response.headers["HX-Retarget"] == "#share-form"
    assert json.loads(response.headers["HX-Trigger"]) == {
        "invitation-sent": "Приглашение отправлено на +7 910 123-45-67"
    }
    status = read(response.text).one(role="status")  # announced, swapped in out of band
    assert status.attrs["id"] == "share-status" and status.attrs["data-hx-swap-oob"] == "true"
    assert "Приглашение отправлено на +7 910 123-45-67" in status.text
    assert "Пригласить еще" in response.text and "Готово" in response.text
    (row,) = queued(app)
    assert (row.recipient, row.status) == ("+79101234567", "queued")
    tab = client.get("/referral?tab=invitations").text
    assert "+7 910 123-45-67" in tab and "в очереди" in tab
    # The tabs refresh when a message is sent, and every 3 s while one is pending.
    assert 'data-hx-trigger="invitation-sent from:body, every 3s"' in tab


def test_send_an_email_without_javascript(app: Flask, client: FlaskClient, auth: Auth) -> None:
    member(app, client, auth)
    response = auth.post(
        "/referral/invite", {"channel": "email", "recipient": "friend@example.ru", "consent": "y"}
    )
    assert response.status_code == 303
    assert response.location == "/referral?tab=invitations"
    page = client.get(response.location).text
    assert "Приглашение отправлено на friend@example.ru" in page


def test_errors_are_inline_and_nothing_is_queued(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    token = csrf_token(client.get("/referral").text)
    cases = [
        (
            {"channel": "sms", "recipient": "+44 7400 123456", "consent": "y"},
            "только на номера России",
        ),
        ({"channel": "sms", "recipient": "+7 495 123-45-67", "consent": "y"}, "не мобильный"),
        ({"channel": "sms", "recipient": "+79101234567"}, "Подтвердите, что друг согласен"),
        (
            {"channel": "email", "recipient": "a@b.ru\r\nBcc: x@y.ru", "consent": "y"},
            "Введите адрес",
        ),
        ({"channel": "email", "recipient": "x" * 10_240, "consent": "y"}, "Слишком длинное"),
        (
            {"channel": "fax", "recipient": "+79101234567", "consent": "y"},
            "Выберите email или SMS.",
        ),
        ({"channel": "sms", "recipient": "", "consent": "y"}, "Заполните поле."),
    ]
    for data, message in cases:
        response = client.post("/referral/invite", data=data, headers={**HX, "X-CSRFToken": token})
        assert response.status_code == 422, data
        assert response.headers["HX-Retarget"] == "#share-form"
        assert message in response.text, (data, response.text[:2000])
    assert queued(app) == []


def test_every_error_of_the_dialog_at_once(app: Flask, client: FlaskClient, auth: Auth) -> None:
    member(app, client, auth)
    token = csrf_token(client.get("/referral").text)
    for recipient, recipient_error in (("", "Заполните поле."), ("+7 910 12", "мобильного")):
        response = client.post(
            "/referral/invite",
            data={"channel": "sms", "recipient": recipient},
            headers={**HX, "X-CSRFToken": token},
        )
        assert response.status_code == 422
        html = response.text
        # Both fields carry their error, tied to them, and one alert reads both out.
        assert 'aria-invalid="true" aria-describedby="recipient-error"' in html
        assert 'aria-invalid="true" aria-describedby="consent-error"' in html
        alert = html.split('role="alert">', 1)[1].split("</div>", 1)[0]
        assert recipient_error in alert and "Подтвердите, что друг согласен" in alert
    assert queued(app) == []


def test_the_typed_value_is_kept_and_tied_to_its_error(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    response = auth.post(
        "/referral/invite", {"channel": "sms", "recipient": "12345", "consent": "y"}
    )
    assert response.status_code == 422
    assert 'value="12345"' in response.text
    assert 'aria-invalid="true" aria-describedby="recipient-error"' in response.text


def test_non_members_cannot_invite(app: Flask, client: FlaskClient, auth: Auth) -> None:
    auth.login(web_client(app, 409))
    response = auth.post(
        "/referral/invite", {"channel": "sms", "recipient": "+79101234567", "consent": "y"}
    )
    assert response.status_code == 422
    assert "сначала вступите в программу" in response.text
    assert queued(app) == []


def test_invitations_need_a_login_and_a_csrf_token(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    assert client.get("/referral/invite").status_code == 302
    member(app, client, auth)
    response = client.post("/referral/invite", data={"channel": "sms", "recipient": "+79101234567"})
    assert response.status_code == 400
    assert queued(app) == []


def test_the_per_ip_limit(app: Flask, make_app: Callable[..., Flask]) -> None:
    limited = make_app(INVITE_RATE_LIMIT="2 per minute", WTF_CSRF_ENABLED=False)
    web = limited.test_client()
    # Signed out, a post is sent to «Войти» and counted by no limit (it does nothing).
    assert [web.post("/referral/invite", data={}).status_code for _ in range(3)] == [302] * 3
    email = web_client(app, 431)
    assert web.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    codes = [web.post("/referral/invite", data={}).status_code for _ in range(3)]
    assert codes[-1] == 429
    response = web.post("/referral/invite", data={})
    assert "Слишком много запросов" in response.text


def test_unsubscribe_link_puts_the_address_on_the_stop_list(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    auth.post(
        "/referral/invite", {"channel": "email", "recipient": "friend@example.ru", "consent": "y"}
    )
    (row,) = queued(app)
    link = re.search(r"http://[^\s]+/unsubscribe/([^\s]+)", json.loads(row.payload)["text"])
    assert link is not None
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/referral").text)})
    page = client.get(f"/unsubscribe/{link.group(1)}")
    assert page.status_code == 200 and "friend@example.ru" in page.text
    with outside_requests(app):
        assert db.session.scalar(select(func.count()).select_from(StopListEntry)) == 0  # GET asks
    client.post(f"/unsubscribe/{link.group(1)}", data={"csrf_token": csrf_token(page.text)})
    with outside_requests(app):
        assert db.session.get(StopListEntry, "friend@example.ru") is not None
    forged = client.get("/unsubscribe/not-a-real-token")
    assert forged.status_code == 400 and "недействительна" in forged.text


def test_the_per_ip_limit_with_redis_storage(app: Flask, make_app: Callable[..., Flask]) -> None:
    """Production keeps the counters in Redis (RATELIMIT_STORAGE_URI), shared by all workers."""
    import uuid

    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("Redis на 127.0.0.1:6379 недоступен: проверка хранилища Redis ПРОПУЩЕНА")
    limited = make_app(
        INVITE_RATE_LIMIT="2 per minute",
        WTF_CSRF_ENABLED=False,
        RATELIMIT_STORAGE_URI=url,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",  # no counters left from other runs
    )
    web = limited.test_client()
    email = web_client(app, 432)
    assert web.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    codes = [web.post("/referral/invite", data={}).status_code for _ in range(3)]
    assert codes[-1] == 429
    keys = redis.Redis.from_url(url).keys(f"*{limited.config['RATELIMIT_KEY_PREFIX']}*")
    assert keys  # the counter really lives in Redis
