"""/manage: manager accounts and roles, the dashboard, the time machine, support tools."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from werkzeug.test import TestResponse

from cabinet.audit.models import AuditEntry
from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.demo.clock import DemoClock
from cabinet.referrals import services
from tests.support import sign_in as support
from tests.support.factories import invitation, make_client
from tests.support.moments import msk
from tests.support.page import page as read
from tests.support.sign_in import sign_in_manager
from tests.web.conftest import (
    PASSWORD,
    Auth,
    csrf_token,
    outside_requests,
    referrer_with_referees,
    web_client,
)

MANAGER = "pm@example.ru"


def make_manager(app: Flask) -> None:
    support.make_manager(app, MANAGER, "Анна")


def manager_login(client: FlaskClient, email: str = MANAGER) -> None:
    sign_in_manager(client, email)


def worked_example(app: Flask) -> str:
    """Referrer 400 and the help page's three referees, with e-mails; returns 400's code."""
    return referrer_with_referees(app, emails=True)[1]


def test_managers_create_cli(runner: FlaskCliRunner) -> None:
    result = runner.invoke(
        args=["managers", "create", "--email", "ops@example.ru", "--password", "длинный-пароль"]
    )
    assert result.exit_code == 0 and "создан" in result.output
    again = runner.invoke(
        args=["managers", "create", "--email", "ops@example.ru", "--password", "длинный-пароль"]
    )
    assert again.exit_code == 1 and "уже есть" in again.stderr


def test_clients_never_reach_manage(app: Flask, client: FlaskClient, auth: Auth) -> None:
    make_manager(app)
    auth.login(web_client(app, 407))
    for url in (
        "/manage",
        "/manage/dashboard",
        "/manage/clients?q=4",
        "/manage/clients/407",
        "/manage/audit",
        "/manage/dashboard.csv",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/manage/login")
    token = csrf_token(client.get("/referral").text)
    assert client.post("/manage/invitations/requeue", data={"csrf_token": token}).status_code == 302
    # A client's password does not open the manager's panel.
    token = csrf_token(client.get("/manage/login").text)
    refused = client.post(
        "/manage/login",
        data={"email": "c407@example.ru", "password": PASSWORD, "csrf_token": token},
    )
    assert refused.status_code == 422 and "Неверный email или пароль." in refused.text


def test_managers_see_no_client_pages(app: Flask, client: FlaskClient) -> None:
    make_manager(app)
    web_client(app, 1)  # a client whose id equals the manager's
    manager_login(client)
    response = client.get("/referral")
    assert response.status_code == 302 and response.location == "/manage/dashboard"


def test_dashboard_numbers_for_a_known_data_set(
    app: Flask, client: FlaskClient, clock: object
) -> None:
    worked_example(app)
    with outside_requests(app):
        now = msk("2023-04-01 12:00")
        db.session.add_all(
            invitation(400, to, now, channel=channel, status=status, attempts=1)
            for status, channel, to in [
                ("sent", "email", "407@example.ru"),
                ("sent", "sms", "+79101234567"),
                ("failed", "sms", "+79101234568"),
                ("queued", "email", "x@example.ru"),
            ]
        )
        db.session.commit()
    clock.set(msk("2023-04-01 12:00"))  # type: ignore[attr-defined]
    make_manager(app)
    manager_login(client)
    html = client.get("/manage/dashboard").text
    board = read(html)
    assert board.by_id("m-members").text == "4"
    assert board.by_id("m-referrals").text == "3"
    assert board.by_id("m-sms").text == "1 200"  # ru-RU groups digits
    # 407 applied 400's code and had been invited by e-mail: 1 of 2 delivered invitations.
    assert board.by_id("m-conversion").text == "50,0 %"
    assert board.row("400 «АльфаТелеком»")[-1] == "3"  # «Приведено»
    exported = client.get("/manage/dashboard.csv").text.lstrip("\ufeff")
    rows = dict(csv.reader(io.StringIO(exported), delimiter=";"))
    assert rows["рефералов всего"] == "3"
    assert rows["приглашений sms: отправлено"] == "2"
    assert rows["приглашений sms: доставлено"] == "1"
    assert rows["приглашений sms: не доставлено"] == "1"
    assert rows["рефералов за неделю с 27.03.2023"] == "3"
    assert rows["топ: 400 АльфаТелеком"] == "3"
    # 60% for 30.03.2024 15:18 − 01.04.2023 12:00 (364.1 days) + three referees' 20% grants.
    # As a Russian spreadsheet reads it: a decimal comma.
    assert re.fullmatch(r"\d+,\d", rows["скидка в силе, процент-месяцев"])
    in_force = float(rows["скидка в силе, процент-месяцев"].replace(",", "."))
    expected = 60 * (msk("2024-03-30 15:18") - now) / timedelta(days=30) + sum(
        20 * (msk(end) - now) / timedelta(days=30)
        for end in ("2023-06-29 10:03", "2023-06-29 10:30", "2023-06-29 15:18")
    )
    assert in_force == round(expected, 1)
    # The chart is a table of weeks: each row its date, its number and a bar of its share.
    weeks = {
        tr.one("th", scope="row").text: tr.one("rect").attrs["width"]
        for tr in board.all("tr")
        if tr.all("th", scope="row") and tr.all("rect")
    }
    assert weeks["27.03.2023"] == "100.0"  # the week of the three referrals: the whole bar


def test_client_lookup(app: Flask, client: FlaskClient) -> None:
    code = worked_example(app)
    with outside_requests(app):
        make_client(500, "Рога и копыта", email="boss@roga.ru")
        from cabinet.clients.models import Client

        db.session.get(Client, 500).phone = "+7 (910) 555-12-34"
        db.session.commit()
    make_manager(app)
    manager_login(client)

    def found(query: str) -> list[str]:
        html = client.get("/manage/clients", query_string={"q": query}).text
        return re.findall(r'<td data-label="ID"><a href="/manage/clients/\d+">(\d+)</a>', html)

    assert found("407") == ["407"]
    assert found("стройкомп") == ["401"]
    assert found(code.upper()) == ["400"]
    assert found("boss@roga") == ["500"]
    assert found("8 910 555 12 34") == ["500"]
    assert found("никого") == []


def test_apply_a_code_on_the_clients_behalf(app: Flask, client: FlaskClient, clock: object) -> None:
    code = worked_example(app)
    clock.set(msk("2023-04-01 12:00"))  # type: ignore[attr-defined]
    web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-25 09:00"))
    make_manager(app)
    manager_login(client)
    page = client.get("/manage/clients/409").text
    assert "Применить код за клиента" in page
    token = csrf_token(page)
    no_reason = client.post(
        "/manage/clients/409/apply", data={"code": code, "reason": "", "csrf_token": token}
    )
    assert no_reason.status_code == 422 and "Укажите причину." in no_reason.text
    wrong = client.post(
        "/manage/clients/409/apply",
        data={"code": "abcdefabc", "reason": "звонок клиента", "csrf_token": token},
    )
    assert wrong.status_code == 422 and "Такого кода приглашения нет" in wrong.text
    done = client.post(
        "/manage/clients/409/apply",
        data={"code": code, "reason": "клиент не смог ввести код", "csrf_token": token},
        follow_redirects=True,
    )
    assert "Код применен за клиента" in done.text
    assert read(done.text).by_id("client-discount").text == "20 %"
    with outside_requests(app):
        entry = db.session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.client_id, entry.reason) == (
            "apply_code",
            409,
            "клиент не смог ввести код",
        )
    assert "клиент не смог ввести код" in done.text  # the client's audit trail


@pytest.fixture
def demo_app(make_app: Callable[..., Flask], database: None) -> Flask:
    demo = make_app(DEMO_MODE=True, INVITE_RATE_LIMIT="1000 per minute")
    assert isinstance(demo.extensions["context"].clock, DemoClock)
    return demo


def test_time_machine_across_the_help_pages_example(demo_app: Flask) -> None:
    """A referee in its promo period: the discount starts after it, then ends after 3 months."""
    context: Context = demo_app.extensions["context"]
    now = datetime.now(UTC)
    with outside_requests(demo_app):
        create_manager(MANAGER, PASSWORD, "Анна", now)
        make_client(400, "АльфаТелеком", registered_at=now - timedelta(days=90))
        code = services.join(context, 400).code
        make_client(
            407,
            "ТехСтрой",
            registered_at=now - timedelta(days=1),
            promo_until=now + timedelta(days=5),
            email="c407@example.ru",
            password=PASSWORD,
        )
        services.join(context, 407, code)
    client = demo_app.test_client()
    auth = Auth(client)
    auth.login("c407@example.ru")
    page = client.get("/referral").text
    assert "Демо-режим. Время кабинета:" in page
    assert read(page).by_id("discount").text == "0 %"  # the promo period runs
    client.post("/logout", data={"csrf_token": csrf_token(page)})

    manager_login(client)
    dashboard = client.get("/manage/dashboard").text
    assert "Машина времени" in dashboard
    token = csrf_token(dashboard)

    def jump(how: str, **extra: str) -> str:
        response = client.post(
            "/manage/clock",
            data={"jump": how, "csrf_token": token, **extra},
            follow_redirects=True,
        )
        assert response.status_code == 200
        return response.text

    shown = jump("week")
    assert "(машина времени)" in shown
    moved = context.clock.now()
    assert timedelta(days=6, hours=23) < moved - datetime.now(UTC) < timedelta(days=7, hours=1)
    with outside_requests(demo_app):
        assert _discount(demo_app, 407) == 20  # the promo period is over: the 20% runs
    for _ in range(3):
        jump("month")
    with outside_requests(demo_app):
        assert _discount(demo_app, 407) == 0  # three months later the grant has ended
    target = (now + timedelta(days=2)).astimezone(context.timezone).date()
    jump("date", day=target.isoformat())
    assert context.clock.now().astimezone(context.timezone).date() == target
    jump("now")
    assert abs(context.clock.now() - datetime.now(UTC)) < timedelta(seconds=5)
    with outside_requests(demo_app):
        actions = [e.details["jump"] for e in db.session.scalars(select(AuditEntry))]
        assert actions == ["week", "month", "month", "month", "date", "now"]
    assert "машина времени" in client.get("/manage/audit").text


def _discount(app: Flask, client_id: int) -> int:
    from cabinet.referrals.queries import standing

    context: Context = app.extensions["context"]
    context.clock.forget()  # type: ignore[attr-defined]
    return standing(client_id, context.clock.now()).discount_percent


def test_the_time_machine_is_off_outside_demo_mode(app: Flask, client: FlaskClient) -> None:
    make_manager(app)
    manager_login(client)
    page = client.get("/manage/dashboard").text
    assert "Машина времени" not in page
    response = client.post("/manage/clock", data={"jump": "day", "csrf_token": csrf_token(page)})
    assert response.status_code == 404  # the demo's pages are not even registered


def test_the_demo_is_registered_only_in_demo_mode(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    """Outside demo mode no URL of the demo exists; in demo mode «Сценарии», the steps,
    «Сбросить демо» and the time machine do, all under the «demo» blueprint."""
    demo_urls = {"/manage/scenarios", "/manage/clock", "/manage/demo/reset"}
    assert demo_urls.isdisjoint({rule.rule for rule in app.url_map.iter_rules()})
    demo = make_app(DEMO_MODE=True)
    rules = {rule.rule: rule.endpoint for rule in demo.url_map.iter_rules()}
    assert demo_urls <= set(rules)
    assert {rules[url].split(".")[0] for url in demo_urls} == {"demo"}


def test_one_click_demo_login(demo_app: Flask) -> None:
    from cabinet.demo.seed import seed

    with outside_requests(demo_app):
        seed(demo_app.extensions["context"])
    client = demo_app.test_client()
    page = client.get("/login").text
    assert "Войти как 400 «АльфаТелеком»" in page
    response = client.post(
        "/login/demo/400", data={"csrf_token": csrf_token(page)}, follow_redirects=True
    )
    assert "АльфаТелеком" in response.text and "Ваша скидка" in response.text


def test_one_click_login_is_off_outside_demo_mode(app: Flask, client: FlaskClient) -> None:
    web_client(app, 400)
    token = csrf_token(client.get("/login").text)
    assert client.post("/login/demo/400", data={"csrf_token": token}).status_code == 404


def test_revoke_a_fraudulent_referral_from_the_clients_page(
    app: Flask, client: FlaskClient, clock: object
) -> None:
    worked_example(app)
    clock.set(msk("2023-04-01 12:00"))  # type: ignore[attr-defined]
    make_manager(app)
    manager_login(client)
    page = client.get("/manage/clients/400").text
    assert read(page).by_id("client-discount").text == "60 %"
    form = re.search(r'action="(/manage/referrals/(\d+)/revoke)"[^>]*>.*?reason-\2', page, re.S)
    assert form is not None
    token = csrf_token(page)

    def revoke(reason: str) -> TestResponse:
        return client.post(
            form.group(1),
            data={"reason": reason, "csrf_token": token},
            headers={"Referer": "http://localhost/manage/clients/400"},
            follow_redirects=True,
        )

    assert "Укажите причину отмены реферала." in revoke("").text
    done = revoke("один владелец у обеих компаний")
    assert "Реферал отменен" in done.text
    assert read(done.text).by_id("client-discount").text == "40 %"  # two referrals left
    assert "отменена" in done.text  # voided grants stay in the history
    assert "один владелец у обеих компаний" in done.text  # the audit trail
    again = revoke("еще раз")
    assert "message--error" in again.text


def test_fraud_signals_show_on_the_clients_page(app: Flask, client: FlaskClient) -> None:
    web_client(app, 400, "АльфаТелеком", registered_at=msk("2023-01-01 00:00"))
    context: Context = app.extensions["context"]
    with outside_requests(app):
        from cabinet.clients.models import Client

        db.session.get(Client, 400).email = "boss@roga-kopyta.ru"
        db.session.commit()
        code = services.join(context.at(msk("2023-03-01 09:00")), 400).code
        make_client(401, "Рога", registered_at=msk("2023-03-20 09:00"), email="ops@roga-kopyta.ru")
        services.join(context.at(msk("2023-03-30 10:00")), 401, code)
    make_manager(app)
    manager_login(client)
    page = client.get("/manage/clients/400").text
    assert "Признаки мошенничества" in page and "roga-kopyta.ru" in page
