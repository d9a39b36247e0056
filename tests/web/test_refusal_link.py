"""The refusal link every SMS carries (/s/<token>): the page asks, the button puts the number
on the stop list (again and again without harm), an unknown token is a Russian 404 limited per
IP, and the link still works once the number is only a keyed hash."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations import rules, services
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.invitations.settings import InvitationSettings
from tests.conftest import msk
from tests.web.conftest import Auth, csrf_token, outside_requests
from tests.web.test_invitations_web import HX, member, queued

BASE = "http://127.0.0.1:5000"  # CABINET_BASE_URL's default


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\u00a0", " ").split())


def send_sms(client: FlaskClient, to: str = "89101234567") -> None:
    token = csrf_token(client.get("/referral").text)
    response = client.post(
        "/referral/invite",
        data={"channel": "sms", "recipient": to, "consent": "y"},
        headers={**HX, "X-CSRFToken": token},
    )
    assert response.status_code == 200, response.text


def stop_list(app: Flask) -> list[tuple[str, str]]:
    with outside_requests(app):
        return [(e.recipient, e.source) for e in db.session.scalars(select(StopListEntry))]


def test_the_sms_carries_a_refusal_link_that_asks_then_refuses_once(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    send_sms(client)
    (row,) = queued(app)
    token = row.refusal_token
    assert token is not None and rules.is_refusal_token(token)
    text = json.loads(row.payload)["text"]
    assert text.startswith("АльфаТелеком приглашает в Корпоративную АТС, скидка 20")
    assert text.endswith(f" Отказ: {BASE}/s/{token}") and len(text) <= 134

    stranger = app.test_client()  # the friend's phone: no session, no cookies
    page = stranger.get(f"/s/{token}")
    assert page.status_code == 200
    assert "Вы больше не хотите получать на номер +7 910 ***-**-67 SMS с приглашениями" in text_of(
        page.text
    )
    assert ">Отказаться</button>" in page.text
    assert "+79101234567" not in page.text and "123-45-67" not in page.text
    assert stop_list(app) == []  # a GET (a link preview) changes nothing

    for _ in range(2):  # the second press changes nothing and says the same
        done = stranger.post(f"/s/{token}")
        assert done.status_code == 200
        assert (
            "Готово: на номер +7 910 ***-**-67 больше не будут приходить SMS с приглашениями"
            in text_of(done.text)
        )
    assert stop_list(app) == [("+79101234567", "sms link")]
    assert "Отказаться" not in stranger.get(f"/s/{token}").text  # already refused

    # The member cannot invite that number again.
    token_ = csrf_token(client.get("/referral").text)
    refused = client.post(
        "/referral/invite",
        data={"channel": "sms", "recipient": "+7 910 123-45-67", "consent": "y"},
        headers={**HX, "X-CSRFToken": token_},
    )
    assert refused.status_code == 422
    assert "Получатель отказался от рассылок" in text_of(refused.text)


def test_an_unknown_token_is_a_russian_404_that_changes_nothing(
    app: Flask, client: FlaskClient
) -> None:
    for token in ("AbCd1234", "short", "AbCd123!", "x" * 300):
        for method in (client.get, client.post):
            response = method(f"/s/{token}")
            assert response.status_code == 404
            assert "Ссылка для отказа не найдена. Проверьте ссылку из SMS." in text_of(
                response.text
            )
    assert stop_list(app) == []


def test_unknown_tokens_are_limited_per_ip_and_a_known_one_costs_nothing(
    make_app: object, database: None
) -> None:
    app = make_app(REFUSAL_LINK_MISS_LIMIT="3 per hour")  # type: ignore[operator]
    client = app.test_client()
    member(app, client, Auth(client))
    send_sms(client)
    (row,) = queued(app)
    stranger = app.test_client()
    for _ in range(4):
        assert stranger.get(f"/s/{row.refusal_token}").status_code == 200  # no miss
    statuses = [stranger.post(f"/s/AbCd{n:04d}").status_code for n in range(5)]
    assert statuses == [404, 404, 404, 429, 429]
    refused = stranger.get(f"/s/{row.refusal_token}")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 60
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.get(f"/s/{row.refusal_token}").status_code == 200  # counted apart


def test_the_link_still_refuses_once_the_number_is_a_hash(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    send_sms(client)
    context: Context = app.extensions["context"]
    settings: InvitationSettings = app.extensions["invitations"]
    with outside_requests(app):
        row = db.session.scalars(select(Invitation)).one()
        row.status, row.sent_at = "sent", msk("2023-03-02 09:00")
        token = row.refusal_token
        db.session.commit()
        services.purge_contacts(context.at(msk("2023-03-02 09:00") + timedelta(days=31)), settings)
    hashed = rules.contact_hash(settings.contact_hash_key, "+79101234567")
    assert [r.recipient for r in queued(app)] == [hashed]
    stranger = app.test_client()
    assert "на номер этот номер" not in stranger.get(f"/s/{token}").text
    assert "Вы больше не хотите получать на этот номер" in text_of(stranger.get(f"/s/{token}").text)
    assert stranger.post(f"/s/{token}").status_code == 200
    assert stop_list(app) == [(hashed, "sms link")]
    with outside_requests(app):  # the raw number is refused, by its hash
        assert not services.opt_out(context, "+79101234567", "support", settings.contact_hash_key)
