"""Billing tells the cabinet: `POST /api/v1/clients/{id}/payments` and `.../closure` (docs/api.md),
on both databases: idempotent replays, conflicts, late payments, clawback, scopes, refusals."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from cabinet.api import tokens
from cabinet.clients.models import Payment
from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.events.models import Event
from cabinet.referrals import queries, services
from tests.api.conftest import Api, assert_problem
from tests.conftest import msk
from tests.factories import make_client, make_member
from tests.services.test_rewards import publish_first_payment_terms


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(func.count()).select_from(Payment)) or 0,
            db.session.scalar(select(func.count()).select_from(Event)) or 0,
        )


def _setup(app: Flask, context: Context) -> None:
    """Referrer 1 under first-payment terms (clawback 30 days); friends 407 and 408 applied its
    code on 31.03.2023, their promo periods ending on 20.04.2023."""
    with app.app_context():
        publish_first_payment_terms(context)
        code = make_member(context, 1, msk("2023-03-01 09:00"))
        for referee, at in ((408, "2023-03-31 10:03"), (407, "2023-03-31 15:18")):
            make_client(
                referee, registered_at=msk("2023-03-20 09:00"), promo_until=msk("2023-04-20 00:00")
            )
            services.join(context.at(msk(at)), referee, code)
        db.session.remove()


def _referrer_grants(app: Flask) -> list[tuple[int, str]]:
    with app.app_context():
        return [
            (g.percent, g.starts_at.isoformat())
            for g in queries.in_effect(queries.history(1))
            if g.reason == "referrer"
        ]


PAYMENT = {
    "payment_id": "INV-2023-04-0001",
    "paid_at": "2023-04-21T10:00",
    "amount_kopecks": 150000,
}


def test_a_payment_earns_the_waiting_reward_and_a_replay_answers_as_the_first_time(
    app: Flask, api: Api, context: Context, clock: SettableClock
) -> None:
    _setup(app, context)
    clock.set(msk("2023-04-21 12:00"))
    first = api.post("/api/v1/clients/408/payments", json=PAYMENT)
    assert first.status_code == 200, first.text
    assert first.get_json() == {
        "client_id": 408,
        "payment_id": "INV-2023-04-0001",
        "paid_at": "2023-04-21T10:00:00+03:00",
        "amount_kopecks": 150000,
        "received_at": "2023-04-21T12:00:00+03:00",
    }
    assert "Idempotent-Replayed" not in first.headers
    assert _referrer_grants(app) == [(20, "2023-04-21T07:00:00+00:00")]
    before = _counts(app)

    clock.set(msk("2023-04-22 09:00"))
    again = api.post("/api/v1/clients/408/payments", json=PAYMENT)
    assert (again.status_code, again.get_json()) == (200, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _counts(app) == before

    other = api.post("/api/v1/clients/408/payments", json={**PAYMENT, "amount_kopecks": 1})
    body = assert_problem(other, 409, "payment-conflict")
    assert body["detail"] == (
        "Платеж «INV-2023-04-0001» уже получен с другими данными: оплачен 21.04.2023 10:00, "
        "сумма 1\xa0500,00\xa0₽. Ничего не изменилось."
    )
    assert _counts(app) == before


def test_a_late_payment_recomputes_the_ladder_as_of_then(
    app: Flask, api: Api, context: Context, clock: SettableClock
) -> None:
    _setup(app, context)
    clock.set(msk("2023-04-25 12:00"))
    api.post("/api/v1/clients/407/payments", json={**PAYMENT, "paid_at": "2023-04-25T10:00"})
    assert _referrer_grants(app) == [(20, "2023-04-25T07:00:00+00:00")]
    clock.set(msk("2023-05-01 09:00"))  # 408 paid on 22.04; billing reports it today
    late = api.post(
        "/api/v1/clients/408/payments",
        json={"payment_id": "A-1", "paid_at": "2023-04-22T09:00:00+03:00", "amount_kopecks": 99},
    )
    assert late.status_code == 200
    assert _referrer_grants(app) == [
        (20, "2023-04-22T06:00:00+00:00"),
        (40, "2023-04-25T07:00:00+00:00"),
    ]
    discount = api.get("/api/v1/clients/1/discount?at=2023-05-01T09:00").get_json()
    assert discount["percent"] == 40


def test_a_closure_inside_the_window_takes_the_reward_back_and_is_idempotent(
    app: Flask, api: Api, context: Context, clock: SettableClock
) -> None:
    _setup(app, context)
    clock.set(msk("2023-04-21 12:00"))
    api.post("/api/v1/clients/408/payments", json=PAYMENT)
    clock.set(msk("2023-05-05 12:00"))
    closed = api.post("/api/v1/clients/408/closure", json={"closed_at": "2023-05-05T11:00"})
    assert closed.status_code == 200, closed.text
    assert closed.get_json() == {
        "client_id": 408,
        "status": "closed",
        "closed_at": "2023-05-05T11:00:00+03:00",
    }
    assert _referrer_grants(app) == []
    kinds = [e["kind"] for e in api.get("/api/v1/events?after=0&limit=500").get_json()["events"]]
    assert kinds[-3:] == ["client_closed", "reward_clawed_back", "grant_revoked"]
    before = _counts(app)
    again = api.post("/api/v1/clients/408/closure", json={"closed_at": "2023-05-05T11:00"})
    assert (again.status_code, again.get_json()) == (200, closed.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    other = api.post("/api/v1/clients/408/closure", json={"closed_at": "2023-05-04T11:00"})
    assert_problem(other, 409, "closure-conflict")
    assert _counts(app) == before
    client = api.get("/api/v1/clients/408").get_json()
    assert client["status"] == "closed"


def test_bad_input_is_a_clear_4xx_and_changes_nothing(
    app: Flask, api: Api, context: Context, clock: SettableClock
) -> None:
    _setup(app, context)
    clock.set(msk("2023-04-21 12:00"))
    before = _counts(app)
    body = assert_problem(
        api.post(
            "/api/v1/clients/408/payments",
            json={"payment_id": " ", "paid_at": "вчера", "amount_kopecks": 0, "extra": 1},
        ),
        422,
        "validation-failed",
    )
    assert {e["pointer"] for e in body["errors"]} == {
        "/payment_id",
        "/paid_at",
        "/amount_kopecks",
        "/extra",
    }
    future = api.post("/api/v1/clients/408/payments", json={**PAYMENT, "paid_at": "2023-04-22"})
    assert assert_problem(future, 422, "validation-failed")["detail"] == (
        "Момент оплаты не может быть позже текущего момента (21.04.2023 12:00)."
    )
    assert_problem(api.post("/api/v1/clients/999/payments", json=PAYMENT), 404, "client-not-found")
    assert_problem(api.post("/api/v1/clients/x/closure", json={}), 400, "invalid-parameters")
    assert_problem(
        api.client.post("/api/v1/clients/408/closure", data="closed_at", headers=api.headers),
        415,
        "unsupported-media-type",
    )
    assert _counts(app) == before


def test_the_billing_scope_is_needed(
    app: Flask, client: FlaskClient, context: Context, database: None
) -> None:
    with app.app_context():
        reader = tokens.issue(context, "reader", scopes=("read",)).token
    response = client.post(
        "/api/v1/clients/408/payments",
        json=PAYMENT,
        headers={"Authorization": f"Bearer {reader}"},
    )
    assert_problem(response, 403, "insufficient-scope")


def test_a_contract_closed_by_billing_is_not_reopened_by_provisioning(
    app: Flask, api: Api, context: Context, clock: SettableClock
) -> None:
    _setup(app, context)
    clock.set(msk("2023-05-05 12:00"))
    api.post("/api/v1/clients/408/closure", json={"closed_at": "2023-05-05T11:00"})
    before = _counts(app)
    reopened = api.put(
        "/api/v1/clients/408",
        json={"name": "Клиент 408", "registered_at": "2023-03-20T09:00", "status": "active"},
    )
    body = assert_problem(reopened, 409, "conflict")
    assert body["detail"] == (
        "Договор клиента закрыт биллингом 05.05.2023 11:00: вернуть статус active нельзя."
    )
    assert _counts(app) == before
