"""PUT /api/v1/clients/{id}: provisioning, idempotent create-or-update."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.events.models import Event
from tests.api.conftest import Api, assert_problem

TEHSTROY = {
    "name": "ТехСтрой",
    "registered_at": "2023-03-20T12:00:00+03:00",
    "promo_until": "2023-04-20T00:00",
    "email": "TehStroy@Example.ru",
    "phone": " +7 910 123-45-67 ",
    "status": "active",
}


def _events(app: Flask) -> list[tuple[str, int, dict[str, Any]]]:
    with app.app_context():
        return [
            (e.kind, e.client_id, e.data)
            for e in db.session.scalars(select(Event).order_by(Event.id))
        ]


def test_put_creates_then_the_same_put_changes_nothing(app: Flask, api: Api) -> None:
    created = api.put("/api/v1/clients/407", TEHSTROY)
    assert created.status_code == 201
    assert created.headers["Location"] == "/api/v1/clients/407"
    assert created.get_json() == {
        "id": 407,
        "name": "ТехСтрой",
        "registered_at": "2023-03-20T12:00:00+03:00",
        "promo_until": "2023-04-20T00:00:00+03:00",  # no offset: Moscow time
        "email": "tehstroy@example.ru",
        "phone": "+7 910 123-45-67",
        "status": "active",
        "member": False,
    }
    again = api.put("/api/v1/clients/407", TEHSTROY)
    assert again.status_code == 200
    assert again.get_json() == created.get_json()
    assert api.get("/api/v1/clients/407").get_json() == created.get_json()
    assert [kind for kind, _, _ in _events(app)] == ["client_created"]  # the retry: no event


def test_put_updates_and_closing_is_a_status_change(app: Flask, api: Api) -> None:
    api.put("/api/v1/clients/407", TEHSTROY)
    closed = api.put("/api/v1/clients/407", {**TEHSTROY, "status": "closed", "phone": None})
    assert closed.status_code == 200
    assert (closed.get_json()["status"], closed.get_json()["phone"]) == ("closed", None)
    kind, client_id, data = _events(app)[-1]
    assert (kind, client_id, data["changed"]) == ("client_updated", 407, ["phone", "status"])
    assert data["client"]["status"] == "closed"
    assert data["client"]["registered_at"] == "2023-03-20T12:00:00+03:00"


def test_put_is_a_whole_replacement(api: Api) -> None:
    api.put("/api/v1/clients/407", TEHSTROY)
    minimal = api.put("/api/v1/clients/407", {"name": "ТехСтрой", "registered_at": "2023-03-20"})
    body = minimal.get_json()
    assert (body["email"], body["promo_until"], body["status"]) == (None, None, "active")


def test_invalid_fields_are_all_reported_and_nothing_changes(app: Flask, api: Api) -> None:
    response = api.put(
        "/api/v1/clients/9",
        {"name": " ", "registered_at": "вчера", "status": "paused", "extra": 1, "email": 5},
    )
    body = assert_problem(response, 422, "validation-failed")
    assert {e["pointer"]: e["detail"] for e in body["errors"]} == {
        "/extra": "неизвестное поле",
        "/name": "не может быть пустым",
        "/registered_at": "нужен момент ISO 8601, например 2023-03-31T15:18 или "
        "2023-03-31T15:18:00+03:00",
        "/email": "нужна строка",
        "/status": "одно из значений: active, closed",
    }
    missing = assert_problem(api.put("/api/v1/clients/9", {}), 422, "validation-failed")
    assert [e["pointer"] for e in missing["errors"]] == ["/name", "/registered_at"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Client)) == 0
    assert _events(app) == []


def test_rules_of_the_service_are_422_and_a_taken_email_is_409(api: Api) -> None:
    early = {**TEHSTROY, "promo_until": "2023-03-01"}
    body = assert_problem(api.put("/api/v1/clients/407", early), 422, "validation-failed")
    assert "Промо-период" in body["detail"]
    bad_email = assert_problem(
        api.put("/api/v1/clients/407", {**TEHSTROY, "email": "not-an-address"}),
        422,
        "validation-failed",
    )
    assert "адрес" in bad_email["detail"]
    assert api.put("/api/v1/clients/407", TEHSTROY).status_code == 201
    taken = api.put("/api/v1/clients/408", {**TEHSTROY, "name": "ТехКомплект"})
    assert "tehstroy@example.ru" in assert_problem(taken, 409, "conflict")["detail"]


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    as_text = api.client.put(
        "/api/v1/clients/1", data="name=x", headers={**api.headers, "Content-Type": "text/plain"}
    )
    assert_problem(as_text, 415, "unsupported-media-type")
    broken = api.client.put(
        "/api/v1/clients/1",
        data="{not json",
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(broken, 400, "malformed-json")
    for body in ("NaN", "[1, 2]", '"name"'):
        response = api.client.put(
            "/api/v1/clients/1",
            data=body,
            headers={**api.headers, "Content-Type": "application/json"},
        )
        assert response.status_code in (400, 422)


def test_an_unknown_client_is_404(api: Api) -> None:
    body = assert_problem(api.get("/api/v1/clients/12345"), 404, "client-not-found")
    assert body["detail"] == "Клиент с ID 12345 не найден."
