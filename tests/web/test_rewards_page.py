"""What a member sees of rewards that wait for the friend's first payment and of rewards taken
back (docs/rules.md, «Награда после первой оплаты»): «Приведенные клиенты» and the way forward."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from cabinet.billing import services as billing
from cabinet.clock import Context, SettableClock
from cabinet.referrals import services
from tests.conftest import msk
from tests.factories import make_client
from tests.services.test_rewards import publish_first_payment_terms
from tests.web.conftest import Auth, outside_requests, web_client

HX = {"HX-Request": "true"}


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_waiting_and_clawed_back_rewards_on_the_members_page(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    context: Context = app.extensions["context"]
    with outside_requests(app):
        publish_first_payment_terms(context, clawback_days=30)
    email = web_client(app, 400, "АльфаТелеком", registered_at=msk("2023-01-01 00:00"))
    with outside_requests(app):
        code = services.join(context.at(msk("2023-03-01 09:00")), 400).code
        for referee, name, at in ((407, "ТехСтрой", "10:03"), (401, "СтройКомплект", "10:30")):
            make_client(
                referee,
                name,
                registered_at=msk("2023-03-20 09:00"),
                promo_until=msk("2023-04-20 00:00"),
            )
            services.join(context.at(msk(f"2023-03-31 {at}")), referee, code)

    clock.set(msk("2023-04-01 12:00"))
    auth.login(email)
    page = _text(client.get("/referral").get_data(as_text=True))
    assert "Награды за приглашения ожидают первой оплаты «ТехСтрой» и «СтройКомплект»." in page
    assert "Еще 1 клиент — и скидка станет 20 % до 30.06.2023" in page  # nothing counts yet
    clients = _text(client.get("/referral?tab=clients", headers=HX).get_data(as_text=True))
    assert "ТехСтрой ожидает первой оплаты «ТехСтрой»" in clients
    assert "СтройКомплект ожидает первой оплаты «СтройКомплект»" in clients

    with outside_requests(app):
        billing.record_payment(
            context.at(msk("2023-04-21 10:00")), 407, "INV-7", msk("2023-04-21 10:00"), 150_000
        )
        billing.record_payment(
            context.at(msk("2023-04-22 10:00")), 401, "INV-1", msk("2023-04-22 10:00"), 150_000
        )
        billing.close_contract(context.at(msk("2023-05-01 10:00")), 401, msk("2023-05-01 10:00"))

    clock.set(msk("2023-05-02 12:00"))
    auth.login(email)  # a month later: the session of April has long expired
    page = _text(client.get("/referral").get_data(as_text=True))
    assert "ожидает первой оплаты" not in page and "ожидают первой оплаты" not in page
    assert re.search(r"20 %\s*Ваша скидка", page), page  # 407's reward; 401's went back
    clients = _text(client.get("/referral?tab=clients", headers=HX).get_data(as_text=True))
    assert (
        "СтройКомплект награда возвращена: договор закрыт 01.05.2023 10:00, "
        "через 9 дней после начисления"
    ) in clients
    assert "ТехСтрой 21.04" not in clients and "ТехСтрой 31.03.2023 10:03" in clients
