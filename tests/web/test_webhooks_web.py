"""«Вебхуки» in the panel: subscribers, the secret shown once, the delivery log in Moscow time,
«Отправить снова» and «Удалить подписчика»; the right «Вебхуки»; bad input a clear 4xx."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.audit.models import AuditEntry
from cabinet.auth.services import create_manager
from cabinet.clients.services import NewClient, provision_client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.webhooks.delivery import Sender, Worker
from cabinet.webhooks.models import Subscriber
from tests.conftest import live_program, msk
from tests.web.conftest import PASSWORD, csrf_token, outside_requests
from tests.webhooks.receiver import receiving
from tests.webhooks.test_delivery import drain, fast_settings

HOOKS, SUPPORT = "integrations@example.ru", "support@example.ru"


def _managers(app: Flask) -> None:
    with outside_requests(app):
        now = datetime.now(UTC)
        create_manager(HOOKS, PASSWORD, "Интеграции", now, manages_webhooks=True)
        create_manager(SUPPORT, PASSWORD, "Поддержка", now)


def _login(client: FlaskClient, email: str) -> None:
    token = csrf_token(client.get("/manage/login").text)
    response = client.post(
        "/manage/login", data={"email": email, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302, response.text


def _add(client: FlaskClient, url: str, note: str = "Биллинг"):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get("/manage/webhooks").text)
    return client.post("/manage/webhooks", data={"url": url, "note": note, "csrf_token": token})


def test_a_manager_with_the_right_adds_a_subscriber_and_reads_its_secret_once(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, HOOKS)
    page = client.get("/manage/webhooks")
    assert page.status_code == 200
    assert "Подписчиков пока нет." in page.text
    assert 'href="/manage/webhooks"' in page.text  # in the menu

    added = _add(client, "https://billing.example.ru/hooks")
    assert added.status_code == 200
    assert re.search(r"Подписчик \d+ добавлен", added.text)
    secret = re.search(r'id="webhook-secret"[^>]*>(whsec_[A-Za-z0-9+/=]+)<', added.text)
    assert secret is not None
    with app.app_context():
        row = db.session.scalars(select(Subscriber)).one()
        assert row.secret == secret.group(1)
        assert row.url == "https://billing.example.ru/hooks"
        entry = db.session.scalars(select(AuditEntry)).one()
        assert entry.action == "webhook_added"

    again = client.get("/manage/webhooks")
    assert secret.group(1) not in again.text  # once, never again
    assert "https://billing.example.ru/hooks" in again.text
    assert "Биллинг" in again.text
    assert client.get(f"/manage/webhooks/{row.id}").status_code == 200
    assert secret.group(1) not in client.get(f"/manage/webhooks/{row.id}").text
    audit = client.get("/manage/audit").text
    assert "подписчик вебхуков добавлен" in audit
    assert f"подписчик {row.id} https://billing.example.ru/hooks" in audit


def test_a_bad_address_is_refused_with_its_reason_and_nothing_is_added(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, HOOKS)
    for url, words in (
        ("http://billing.example.ru/hooks", "Адрес должен начинаться с https://"),
        ("billing.example.ru", "Укажите адрес вида https://"),
        ("", "Укажите адрес."),
    ):
        refused = _add(client, url)
        assert refused.status_code == 422, url
        assert words in refused.text
        assert 'aria-invalid="true"' in refused.text
    with app.app_context():
        assert db.session.scalars(select(Subscriber)).all() == []


def test_a_manager_without_the_right_sees_the_list_but_cannot_change_it(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, SUPPORT)
    page = client.get("/manage/webhooks")
    assert page.status_code == 200
    assert "может менеджер с правом «Вебхуки»" in page.text
    token = csrf_token(page.text)
    refused = client.post(
        "/manage/webhooks",
        data={"url": "https://billing.example.ru/hooks", "note": "", "csrf_token": token},
    )
    assert refused.status_code == 403
    assert "только менеджер с правом «Вебхуки»" in refused.text
    refused = client.post(
        "/manage/webhooks", data={"url": "http://x.ru/", "note": "", "csrf_token": token}
    )
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.scalars(select(Subscriber)).all() == []


def test_signed_out_the_pages_lead_to_the_sign_in(client: FlaskClient) -> None:
    for url in ("/manage/webhooks", "/manage/webhooks/1"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/manage/login" in response.headers["Location"]


def test_the_log_shows_attempts_answers_and_next_try_in_moscow_time_then_replay_and_remove(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, HOOKS)
    context: Context = live_program(app)
    answers = iter([500])

    def once_500(_msg_id: str, _event_id: int, _attempt: int) -> int:
        return next(answers, 200)

    with receiving(once_500) as receiver:
        added = _add(client, receiver.url)
        secret = re.search(r'id="webhook-secret"[^>]*>(whsec_[^<]+)<', added.text)
        assert secret is not None
        receiver.secret = secret.group(1)
        with app.app_context():
            subscriber = db.session.scalars(select(Subscriber.id)).one()
            provision_client(context, NewClient(7, "ТехСтрой", msk("2023-03-20 09:00")))
            settings = fast_settings(app)
            with requests.Session() as session:
                worker = Worker(context, settings, Sender(session, settings))
                worker.run_pass()  # the first attempt: HTTP 500, a retry planned
                db.session.remove()
                page = client.get(f"/manage/webhooks/{subscriber}").text
                assert "ждет отправки" in page
                assert "HTTP 500" in page
                moments = re.findall(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", page)
                now = datetime.now(UTC).astimezone(context.timezone)
                assert now.strftime("%d.%m.%Y") in " ".join(moments)  # Moscow, as shown
                drain(worker)
                db.session.remove()

        page = client.get(f"/manage/webhooks/{subscriber}").text
        assert "доставлено" in page
        assert "HTTP 200" in page
        assert f"msg_{subscriber}_" in page
        row = re.search(r'попыток: <span class="attempts">(\d+)</span>', page)
        assert row is not None and row.group(1) == "2"

        event_id = int(re.search(r"№ (\d+) · client_created", page).group(1))  # type: ignore[union-attr]
        token = csrf_token(page)
        replayed = client.post(
            f"/manage/webhooks/{subscriber}/replay",
            data={"from_event": str(event_id), "csrf_token": token},
        )
        assert replayed.status_code == 303
        page = client.get(f"/manage/webhooks/{subscriber}").text
        assert f"Снова в очереди: 1 с события № {event_id}" in page
        assert "отправлено снова: 1" in page

        bad = client.post(
            f"/manage/webhooks/{subscriber}/replay",
            data={"from_event": "99999", "csrf_token": token},
        )
        assert bad.status_code == 303
        assert "События 99999 нет в ленте." in client.get(f"/manage/webhooks/{subscriber}").text

        removed = client.post(f"/manage/webhooks/{subscriber}/remove", data={"csrf_token": token})
        assert removed.status_code == 303
        listing = client.get("/manage/webhooks").text
        assert f"Подписчик {receiver.url} удален" in listing
        assert "Подписчиков пока нет." in listing
        assert client.get(f"/manage/webhooks/{subscriber}").status_code == 404
