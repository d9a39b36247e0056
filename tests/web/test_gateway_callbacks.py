"""The gateways' signed callbacks: delivery receipts and an inbound «СТОП», and the whole way
of an invitation in the «Приглашения» tab."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations import callbacks
from cabinet.invitations import services as invitation_services
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.models import GatewayCallback, Invitation, StopListEntry
from cabinet.referrals import queries as referral_queries
from cabinet.referrals import services
from tests.conftest import live_program, msk
from tests.factories import make_client
from tests.invitations.conftest import Simulator, simulator  # noqa: F401 - the fixture
from tests.invitations.test_delivery import worker_settings
from tests.web.conftest import Auth, outside_requests
from tests.web.test_invitations_web import member

SECRET = "callback-secret-for-tests-0123456789"


def signed(
    body: dict[str, object], *, secret: str = SECRET, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=False).encode()
    stamp = str(int(time.time() if at is None else at))
    return raw, {
        callbacks.TIMESTAMP_HEADER: stamp,
        callbacks.SIGNATURE_HEADER: callbacks.sign(secret, stamp, raw),
        "Content-Type": "application/json",
    }


@pytest.fixture
def gateway_side(make_app: Callable[..., Flask]) -> FlaskClient:
    """The gateway's view of the cabinet: no cookies, the callback secret configured."""
    return make_app(GATEWAY_CALLBACK_SECRET=SECRET).test_client(use_cookies=False)


def state_shown(client: FlaskClient) -> str:
    page = client.get("/referral?tab=invitations")
    found = re.search(r'class="badge badge--(\w+)">([^<]+)<', page.text)
    assert found is not None, page.text
    return found.group(2)


def snapshot(app: Flask) -> tuple[object, ...]:
    with outside_requests(app):
        rows = db.session.execute(select(Invitation.receipt, Invitation.receipt_at)).all()
        stops = db.session.scalars(select(StopListEntry.recipient)).all()
        seen = db.session.scalars(select(GatewayCallback.digest)).all()
    return (sorted(map(tuple, rows), key=str), sorted(stops), sorted(seen))


def test_the_whole_way_of_an_invitation(
    app: Flask,
    client: FlaskClient,
    auth: Auth,
    gateway_side: FlaskClient,
    simulator: Simulator,  # noqa: F811 - the fixture
) -> None:
    member(app, client, auth)
    auth.post(
        "/referral/invite", {"channel": "email", "recipient": "friend@example.ru", "consent": "y"}
    )
    assert state_shown(client) == "в очереди"
    settings = worker_settings(app, simulator)
    with requests.Session() as session, outside_requests(app):
        assert (
            Worker(live_program(app), settings, http_gateways(settings, session)).run_pass().sent
            == 1
        )
    assert state_shown(client) == "отправлено"
    with outside_requests(app):
        key = db.session.scalars(select(Invitation.key)).one()

    body, headers = signed({"key": key, "status": "delivered"})
    answer = gateway_side.post("/gateway/receipts", data=body, headers=headers)
    assert (answer.status_code, answer.json) == (200, {"recorded": True})
    assert state_shown(client) == "доставлено"

    # A later receipt for the same message (a new request, a new signature) changes nothing.
    body, headers = signed({"key": key, "status": "expired"}, at=time.time() + 1)
    answer = gateway_side.post("/gateway/receipts", data=body, headers=headers)
    assert (answer.status_code, answer.json) == (200, {"recorded": False})
    assert state_shown(client) == "доставлено"

    # The friend registers with that address and applies the member's code.
    with outside_requests(app):
        make_client(401, "Друг", email="friend@example.ru", registered_at=msk("2023-03-02 09:00"))
        context: Context = app.extensions["context"]
        services.join(context.at(msk("2023-03-03 09:00")), 401, referral_queries.member_code(400))
    assert state_shown(client) == "скидка начислена"


def test_receipts_with_a_bad_signature_an_old_timestamp_or_a_replay_change_nothing(
    app: Flask, client: FlaskClient, auth: Auth, gateway_side: FlaskClient
) -> None:
    member(app, client, auth, client_id=402)
    auth.post(
        "/referral/invite", {"channel": "email", "recipient": "other@example.ru", "consent": "y"}
    )
    with outside_requests(app):
        key = db.session.scalars(
            select(Invitation.key).where(Invitation.recipient == "other@example.ru")
        ).one()
    before = snapshot(app)

    body, headers = signed({"key": key, "status": "delivered"}, secret="not-the-secret" * 3)
    bad = gateway_side.post("/gateway/receipts", data=body, headers=headers)
    assert (bad.status_code, bad.json) == (400, {"error": "Подпись запроса неверна."})

    body, headers = signed({"key": key, "status": "delivered"}, at=time.time() - 3600)
    old = gateway_side.post("/gateway/receipts", data=body, headers=headers)
    assert old.status_code == 400
    assert old.json == {"error": "Запрос устарел: метка времени вне допустимого окна."}

    body, headers = signed({"key": key, "status": "delivered"})
    tampered = gateway_side.post(
        "/gateway/receipts", data=body.replace(b"delivered", b"expired"), headers=headers
    )
    assert tampered.status_code == 400
    unknown_body, unknown_headers = signed({"key": "no-such-key", "status": "delivered"})
    unknown = gateway_side.post("/gateway/receipts", data=unknown_body, headers=unknown_headers)
    assert unknown.json == {"error": "Сообщение с таким ключом не найдено."}
    assert snapshot(app) == before  # nothing changed by any of them

    assert gateway_side.post("/gateway/receipts", data=body, headers=headers).status_code == 200
    after = snapshot(app)
    replay = gateway_side.post("/gateway/receipts", data=body, headers=headers)
    assert (replay.status_code, replay.json) == (
        409,
        {"error": "Этот запрос уже принят: повтор отклонен."},
    )
    assert snapshot(app) == after


def test_an_inbound_stop_puts_the_number_on_the_stop_list(
    app: Flask, gateway_side: FlaskClient
) -> None:
    body, headers = signed({"from": "+7 910 555-12-34", "text": "СТОП"})
    answer = gateway_side.post("/gateway/inbound", data=body, headers=headers)
    assert (answer.status_code, answer.json) == (200, {"stop_listed": True})
    with outside_requests(app):
        entry = db.session.get(StopListEntry, "+79105551234")
        assert entry is not None and entry.source == "sms reply"
    replay = gateway_side.post("/gateway/inbound", data=body, headers=headers)
    assert replay.status_code == 409

    before = snapshot(app)
    chat, chat_headers = signed({"from": "+79105554321", "text": "Спасибо!"})
    assert gateway_side.post("/gateway/inbound", data=chat, headers=chat_headers).json == {
        "stop_listed": False
    }
    forged, forged_headers = signed({"from": "+79105550000", "text": "stop"}, secret="x" * 40)
    assert (
        gateway_side.post("/gateway/inbound", data=forged, headers=forged_headers).status_code
        == 400
    )
    after = snapshot(app)
    assert after[1] == before[1]  # no number added by either


def test_an_inbound_stop_with_a_bad_signature_an_old_timestamp_or_a_replay_adds_nothing(
    app: Flask, database: None, gateway_side: FlaskClient
) -> None:
    """Each refusal is checked against a number that would otherwise be added: nothing on the
    stop list changes, and the replay comes after support took the number off again."""
    inbound = app
    forged, forged_headers = signed({"from": "+79105550001", "text": "СТОП"}, secret="y" * 40)
    bad = gateway_side.post("/gateway/inbound", data=forged, headers=forged_headers)
    assert (bad.status_code, bad.json) == (400, {"error": "Подпись запроса неверна."})
    stale, stale_headers = signed({"from": "+79105550002", "text": "СТОП"}, at=time.time() - 301)
    old = gateway_side.post("/gateway/inbound", data=stale, headers=stale_headers)
    assert (old.status_code, old.json) == (
        400,
        {"error": "Запрос устарел: метка времени вне допустимого окна."},
    )
    ahead, ahead_headers = signed({"from": "+79105550002", "text": "СТОП"}, at=time.time() + 301)
    assert gateway_side.post("/gateway/inbound", data=ahead, headers=ahead_headers).status_code == (
        400
    )
    with outside_requests(inbound):
        assert db.session.scalars(select(StopListEntry.recipient)).all() == []

    body, headers = signed({"from": "+79105550003", "text": "Стоп."})
    assert gateway_side.post("/gateway/inbound", data=body, headers=headers).json == {
        "stop_listed": True
    }
    with outside_requests(inbound):
        settings = inbound.extensions["invitations"]
        assert invitation_services.opt_in("+79105550003", settings.contact_hash_key)
    replay = gateway_side.post("/gateway/inbound", data=body, headers=headers)
    assert (replay.status_code, replay.json) == (
        409,
        {"error": "Этот запрос уже принят: повтор отклонен."},
    )
    with outside_requests(inbound):
        assert db.session.scalars(select(StopListEntry.recipient)).all() == []


def test_callbacks_are_refused_while_no_secret_is_set(app: Flask) -> None:
    body, headers = signed({"from": "+79105551234", "text": "СТОП"})
    answer = app.test_client(use_cookies=False).post("/gateway/inbound", data=body, headers=headers)
    assert answer.status_code == 400
    assert answer.json == {
        "error": "Прием уведомлений шлюза не настроен (GATEWAY_CALLBACK_SECRET)."
    }
