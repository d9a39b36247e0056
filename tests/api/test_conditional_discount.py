"""The discount API is named by the client's change stamp and the minute (cabinet/stamps.py):
billing asking again for an unchanged discount gets 304 without the standing being read."""

from __future__ import annotations

from flask import Flask

from cabinet.api import tokens
from cabinet.clock import Context
from cabinet.db import db
from cabinet.referrals import services
from tests.api.conftest import Api
from tests.conftest import msk
from tests.factories import make_client
from tests.support.statements import queries, recorded
from tests.web.conftest import outside_requests

URL = "/api/v1/clients/400/discount"


def test_an_unchanged_discount_is_not_sent_again(app: Flask, api: Api, worked_example: str) -> None:
    first = api.get(URL)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    with recorded(app) as statements:
        second = api.client.get(
            URL, headers={**api.headers, "If-None-Match": first.headers["ETag"]}
        )
    assert second.status_code == 304
    (sent,) = queries(statements)  # the token and the stamps, in one statement
    assert "api_tokens" in sent and "member_stamps" in sent


def test_a_new_referral_changes_the_discount_and_its_name(
    app: Flask, api: Api, worked_example: str, context: Context
) -> None:
    first = api.get(URL)
    with app.app_context():
        make_client(409, "ТелекомСтрой", registered_at=msk("2023-03-20 09:00"))
        services.join(context.at(msk("2023-03-31 16:00")), 409, worked_example)
        db.session.remove()
    second = api.client.get(URL, headers={**api.headers, "If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert len(second.get_json()["upcoming"]) + len(second.get_json()["grants"]) > len(
        first.get_json()["upcoming"]
    ) + len(first.get_json()["grants"])
    assert second.headers["ETag"] != first.headers["ETag"]


def test_someone_elses_change_keeps_the_name(
    app: Flask, api: Api, worked_example: str, context: Context
) -> None:
    first = api.get(URL)
    with app.app_context():
        make_client(700, "Посторонний", registered_at=msk("2023-03-20 09:00"))
        db.session.remove()
    second = api.client.get(URL, headers={**api.headers, "If-None-Match": first.headers["ETag"]})
    assert second.status_code == 304


def test_the_gate_answers_the_discount_api_with_one_statement(
    app: Flask, api: Api, worked_example: str
) -> None:
    gate = app.extensions["revisits"]
    before = gate.answered
    first = api.get(URL)
    with recorded(app) as statements:
        again = api.client.get(URL, headers={**api.headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert gate.answered == before + 1
    assert len(queries(statements)) == 1  # the token with the stamps
    assert again.headers["Cache-Control"] == "private, no-cache"
    assert again.headers["X-Content-Type-Options"] == "nosniff"


def test_a_token_without_the_scope_gets_flasks_refusal_not_a_304(
    app: Flask, api: Api, worked_example: str, context: Context
) -> None:
    first = api.get(URL)
    with outside_requests(app):
        reader = tokens.issue(context, "reader", scopes=["read"]).token
    refused = api.client.get(
        URL,
        headers={"Authorization": f"Bearer {reader}", "If-None-Match": first.headers["ETag"]},
    )
    assert refused.status_code == 403
    assert "нет права «биллинг (billing)»" in refused.get_json()["detail"]
