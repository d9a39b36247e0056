"""What billing asks: the discount in force, and an invoice priced with it."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.events.models import Event
from tests.api.conftest import Api, assert_problem
from tests.conftest import msk
from tests.factories import make_member

APRIL = {"first_day": "2023-04-01", "last_day": "2023-04-30"}


def test_discount_of_the_worked_example(api: Api, worked_example: str) -> None:
    body = api.get("/api/v1/clients/400/discount?at=2023-04-01T12:00").get_json()
    assert body == {
        "client_id": 400,
        "at": "2023-04-01T12:00:00+03:00",
        "percent": 60,
        "terms_version": 1,
        "max_percent": 100,
        "grants": [
            {
                "id": body["grants"][0]["id"],
                "percent": 60,
                "starts_at": "2023-03-31T15:18:00+03:00",
                "ends_at": "2024-03-30T15:18:00+03:00",
                "reason": "referrer",
                "level": 3,
                "terms_version": 1,
            }
        ],
        "upcoming": [],
        "excluded_service_kinds": ["sms_package"],
    }
    at_1015 = api.get("/api/v1/clients/400/discount?at=2023-03-31T10:15:00%2B03:00").get_json()
    assert (at_1015["percent"], [g["level"] for g in at_1015["grants"]]) == (20, [1])
    before = api.get("/api/v1/clients/400/discount?at=2023-03-31T07:00:00Z").get_json()
    assert (before["percent"], before["grants"]) == (0, [])


def test_discount_defaults_to_now_and_shows_a_grant_waiting_for_the_promo_end(
    app: Flask, api: Api, context: Context
) -> None:
    with app.app_context():
        code = make_member(context, 1, msk("2023-03-01 09:00"))
    api.put(
        "/api/v1/clients/407",
        {"name": "ТехСтрой", "registered_at": "2023-03-20", "promo_until": "2023-04-20"},
    )
    with app.app_context():
        from cabinet.referrals import services

        services.join(context.at(msk("2023-03-31 15:18")), 407, code)
    body = api.get("/api/v1/clients/407/discount").get_json()  # the clock: 31.03.2023 12:00
    assert body["at"] == "2023-03-31T12:00:00+03:00"
    assert (body["percent"], body["grants"]) == (0, [])
    assert [(g["percent"], g["starts_at"]) for g in body["upcoming"]] == [
        (20, "2023-04-20T00:00:00+03:00")
    ]


def test_discount_refuses_a_bad_moment_and_an_unknown_client(api: Api) -> None:
    body = assert_problem(
        api.get("/api/v1/clients/400/discount?at=31.03.2023"), 400, "invalid-parameters"
    )
    assert body["errors"][0]["parameter"] == "at"
    assert_problem(api.get("/api/v1/clients/400/discount?at=2023-02-30"), 400, "invalid-parameters")
    assert_problem(api.get("/api/v1/clients/400/discount"), 404, "client-not-found")


def test_done_when_billing_prices_a_month_for_the_worked_example(
    api: Api, worked_example: str
) -> None:
    """10 000.00 ₽ of service and a 500.00 ₽ SMS package for April 2023: 60% on the service
    only (RULES.md: 60% from 31.03.2023 15:18; SMS packages are never discounted)."""
    response = api.post(
        "/api/v1/clients/400/invoice-preview",
        {
            "lines": [
                {"kind": "service", "amount": 1_000_000, "period": APRIL, "description": "АТС"},
                {"kind": "sms_package", "amount": 50_000, "period": APRIL},
            ]
        },
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    service, sms = body["lines"]
    assert (service["amount"], service["discount"], service["total"]) == (
        1_000_000,
        600_000,
        400_000,
    )
    assert service["segments"] == [
        {
            "period": {"first_day": "2023-04-01", "last_day": "2023-04-30", "days": 30},
            "percent": 60,
            "amount": 1_000_000,
            "discount": 600_000,
            "total": 400_000,
        }
    ]
    assert (sms["excluded"], sms["discount"], sms["total"]) == (True, 0, 50_000)
    assert body["totals"] == {"amount": 1_050_000, "discount": 600_000, "total": 450_000}
    assert body["rounding"]["mode"] == "half_up" and body["rounding"]["unit"] == "kopeck"
    assert body["excluded_service_kinds"] == ["sms_package"]


def test_invoice_splits_a_period_across_a_grant_start(api: Api, worked_example: str) -> None:
    march = {"first_day": "2023-03-01", "last_day": "2023-03-31"}
    body = api.post(
        "/api/v1/clients/400/invoice-preview",
        {"lines": [{"kind": "service", "amount": 1_000_000, "period": march}]},
    ).get_json()
    segments = [
        (s["period"]["days"], s["percent"], s["amount"], s["discount"])
        for s in body["lines"][0]["segments"]
    ]
    assert segments == [(30, 0, 967_742, 0), (1, 60, 32_258, 19_355)]
    assert body["totals"]["total"] == 980_645


def test_a_line_without_a_period_is_priced_at_the_moment(api: Api, worked_example: str) -> None:
    body = api.post(
        "/api/v1/clients/400/invoice-preview",
        {"at": "2023-03-31T10:15", "lines": [{"kind": "service", "amount": 5}]},
    ).get_json()
    line = body["lines"][0]
    assert (line["period"], line["segments"][0]["percent"], line["discount"]) == (None, 20, 1)
    assert body["at"] == "2023-03-31T10:15:00+03:00"  # 5 × 20% = 1 kopeck exactly


def test_invoice_input_errors_point_at_the_fields(
    app: Flask, api: Api, worked_example: str
) -> None:
    with app.app_context():
        events_before = db.session.scalar(select(func.count()).select_from(Event))
    body = assert_problem(
        api.post(
            "/api/v1/clients/400/invoice-preview",
            {
                "lines": [
                    {"kind": "service", "amount": -1},
                    {"kind": "internet", "amount": True},
                    {
                        "kind": "service",
                        "amount": 1,
                        "period": {"first_day": "2023-04-30", "last_day": "2023-04-01"},
                    },
                    {
                        "kind": "service",
                        "amount": 1,
                        "period": {"first_day": "2023-01-01", "last_day": "2024-12-31"},
                    },
                    {"kind": "service", "amount": 1.5},
                ]
            },
        ),
        422,
        "validation-failed",
    )
    assert [e["pointer"] for e in body["errors"]] == [
        "/lines/0/amount",
        "/lines/1/kind",
        "/lines/1/amount",
        "/lines/2/period/last_day",
        "/lines/3/period/last_day",
        "/lines/4/amount",
    ]
    assert_problem(
        api.post("/api/v1/clients/400/invoice-preview", {"lines": []}), 422, "validation-failed"
    )
    assert_problem(
        api.post(
            "/api/v1/clients/999/invoice-preview", {"lines": [{"kind": "service", "amount": 1}]}
        ),
        404,
        "client-not-found",
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == events_before
