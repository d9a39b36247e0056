"""The terms editor's «Когда начисляется награда» and «Срок возврата награды, дней», and the
preview's count of rewards that would wait (docs/manage.md)."""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Flask
from flask.testing import FlaskClient

from cabinet.billing import services as billing
from cabinet.clock import Context
from cabinet.manage.changes import differences
from cabinet.referrals import services
from cabinet.referrals.rules import HELP_PAGE_TERMS
from tests.conftest import msk
from tests.factories import make_client, make_member
from tests.web.conftest import outside_requests
from tests.web.test_program_terms_web import APRIL_CAMPAIGN, EDITOR, _login, _managers, _post


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_editor_saves_both_fields_and_the_preview_counts_the_rewards_that_would_wait(
    app: Flask, client: FlaskClient
) -> None:
    context: Context = app.extensions["context"]
    _managers(app)
    with outside_requests(app):
        code = make_member(context, 1, msk("2023-03-01 09:00"))
        # two friends referred in the last 30 days: one has paid after its promo period
        for referee, promo in ((2, "2023-03-25 00:00"), (3, "2023-04-20 00:00")):
            make_client(referee, registered_at=msk("2023-03-20 09:00"), promo_until=msk(promo))
            services.join(context.at(msk("2023-03-30 10:00")), referee, code)
        billing.record_payment(
            context.at(msk("2023-03-30 12:00")), 2, "INV-2", msk("2023-03-30 11:00"), 150_000
        )
    _login(client, EDITOR)
    form = _text(client.get("/manage/terms/new").text)
    assert "Когда начисляется награда" in form
    assert "при активации кода" in form and "после первой оплаты приглашенного" in form
    assert "Срок возврата награды, дней" in form

    refused = _post(
        client,
        "/manage/terms/new",
        "/manage/terms/new",
        {**APRIL_CAMPAIGN, "reward_on": "never", "clawback_days": "-1"},
    )
    assert refused.status_code == 422
    assert "Выберите, когда начисляется награда." in refused.text
    assert "Срок возврата награды — целое число от 0 до 3650." in refused.text

    saved = _post(
        client,
        "/manage/terms/new",
        "/manage/terms/new",
        {**APRIL_CAMPAIGN, "reward_on": "first_payment", "clawback_days": "30"},
    )
    assert saved.status_code == 303
    draft = _text(client.get(saved.headers["Location"]).text)
    assert (
        "награда ждала бы первой оплаты приглашенного у 1 из 2 клиентов, приведенных за "
        "последние 30 дней" in draft
    )
    assert re.search(r'value="first_payment"\s+checked', client.get(saved.headers["Location"]).text)
    url = saved.headers["Location"]
    published = _post(client, f"{url}/publish", url, {"confirm": "yes"})
    assert published.status_code == 303
    shown = _text(client.get(url).text)
    assert "Когда начисляется награда после первой оплаты приглашенного" in shown
    assert "Срок возврата награды 30 дней" in shown


def test_the_list_says_what_a_version_changes_in_the_reward_rule() -> None:
    after = replace(HELP_PAGE_TERMS, version=2, reward_on="first_payment", clawback_days=30)
    assert differences(HELP_PAGE_TERMS, after) == (
        "награда начисляется: при активации кода → после первой оплаты приглашенного",
        "срок возврата награды: нет → 30 дней",
    )
