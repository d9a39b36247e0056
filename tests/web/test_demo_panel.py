"""The product manager's demo over HTTP: «Открыть как клиент» (read-only outside demo mode),
«Сценарии», «Сбросить демо», demo data without fraud signals, the audit log's order, the
history without phantom rows, and the SMS options link."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from cabinet.audit.models import AuditEntry
from cabinet.clients.models import Client
from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.demo import runs as scenarios
from cabinet.demo import stories
from cabinet.demo.clock import DemoClock
from cabinet.demo.models import DemoRun
from cabinet.demo.seed import DEMO_CLIENTS, DEMO_MANAGER_EMAIL, DEMO_PASSWORD, seed
from cabinet.fraud import queries as fraud
from cabinet.referrals import queries, services
from cabinet.referrals.models import Grant, Member, ProgramTerms
from cabinet.referrals.terms import sms_pack
from cabinet.texts import NBSP, percent
from tests.conftest import msk
from tests.factories import make_client
from tests.support import sign_in as support
from tests.support.page import page as read
from tests.support.sign_in import sign_in_manager
from tests.web.conftest import PASSWORD, csrf_token, outside_requests, web_client

SUPPORT = "support@example.ru"


def make_manager(app: Flask, *, right: bool, email: str = SUPPORT) -> None:
    support.make_manager(app, email, "Ольга", opens_client_cabinets=right)


def sign_in(client: FlaskClient, email: str = SUPPORT, password: str = PASSWORD) -> None:
    sign_in_manager(client, email, password)


def open_cabinet(client: FlaskClient, client_id: int) -> str:
    token = csrf_token(client.get(f"/manage/clients/{client_id}").text)
    response = client.post(
        f"/manage/clients/{client_id}/open",
        data={"csrf_token": token, "next": f"/manage/clients/{client_id}"},
    )
    assert response.status_code == 303
    return str(response.location)


def audit_actions(app: Flask) -> list[tuple[str, int | None]]:
    with outside_requests(app):
        return [
            (e.action, e.client_id)
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]


def demo_manager(make_app: Callable[..., Flask]) -> tuple[Flask, FlaskClient]:
    """A demo-mode cabinet with the demo data, and the demo manager signed in to its panel."""
    demo = make_app(DEMO_MODE=True)
    with outside_requests(demo):
        seed(demo.extensions["context"])
    client = demo.test_client()
    sign_in(client, DEMO_MANAGER_EMAIL, DEMO_PASSWORD)
    return demo, client


# ---- «Открыть как клиент» ------------------------------------------------------------------


def test_a_manager_without_the_right_cannot_open_a_cabinet(app: Flask, client: FlaskClient) -> None:
    make_manager(app, right=False)
    web_client(app, 407, "ТехСтрой")
    sign_in(client)
    assert "Открыть как клиент" not in client.get("/manage/clients/407").text
    token = csrf_token(client.get("/manage/clients/407").text)
    refused = client.post("/manage/clients/407/open", data={"csrf_token": token})
    assert refused.status_code == 303 and refused.location == "/manage/clients/407"
    assert "нет права открывать кабинеты" in client.get("/manage/clients/407").text
    assert client.get("/referral").location == "/manage/dashboard"
    assert audit_actions(app) == []


def test_outside_demo_mode_support_only_looks(app: Flask, client: FlaskClient) -> None:
    make_manager(app, right=True)
    web_client(app, 407, "ТехСтрой", registered_at=msk("2023-03-20 09:00"))
    with outside_requests(app):
        code = services.join(app.extensions["context"], web_client_id(app, 400))
    sign_in(client)
    assert open_cabinet(client, 407) == "/referral"
    page = client.get("/referral")
    assert page.status_code == 200
    assert "Вы в кабинете клиента 407 «ТехСтрой» (только просмотр)" in read(page.text).text
    assert "Вступить в программу" in page.text  # what the client sees
    token = csrf_token(page.text)
    for url, data in (
        ("/referral/apply", {"code": code.code}),
        ("/referral/join", {}),
        ("/referral/invite", {"channel": "sms", "recipient": "+79101234567", "consent": "y"}),
    ):
        refused = client.post(url, data={**data, "csrf_token": token})
        assert refused.status_code == 403, url
        assert "только для просмотра" in refused.text
        htmx = client.post(url, data={**data, "csrf_token": token}, headers={"HX-Request": "true"})
        assert htmx.status_code == 403 and htmx.headers["HX-Retarget"] == "#alerts"
    with outside_requests(app):
        assert db.session.get(Member, 407) is None  # nothing changed
    assert audit_actions(app) == [("open_cabinet", 407)]
    # «Вернуться в панель»: back where the cabinet was opened; the client pages close again.
    back = client.post("/manage/cabinet/close", data={"csrf_token": token})
    assert back.status_code == 303 and back.location == "/manage/clients/407"
    assert client.get("/referral").location == "/manage/dashboard"
    assert "Вы в кабинете клиента" not in client.get("/manage/clients/407").text


def web_client_id(app: Flask, client_id: int) -> int:
    web_client(app, client_id, registered_at=msk("2023-01-01 00:00"))
    return client_id


def test_in_demo_mode_the_manager_acts_for_the_client_and_it_is_audited(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo = make_app(DEMO_MODE=True)
    with outside_requests(demo):
        seed(demo.extensions["context"])
        code = db.session.scalar(select(Member.code).where(Member.client_id == 400))
    client = demo.test_client()
    sign_in(client, DEMO_MANAGER_EMAIL, DEMO_PASSWORD)
    open_cabinet(client, 409)
    page = client.get("/referral")
    assert "Вы в кабинете клиента 409 «НовыйОфис»" in read(page.text).text
    assert "(только просмотр)" not in page.text
    applied = client.post(
        "/referral/apply",
        data={"code": code, "csrf_token": csrf_token(page.text)},
        headers={"HX-Request": "true"},
    )
    assert applied.status_code == 200 and "Код применен" in applied.text
    with outside_requests(demo):
        assert queries.standing(409, demo.extensions["context"].clock.now()).referred_by == 400
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "cabinet_apply_code")
        ).one()
        assert entry.client_id == 409 and entry.reason == "в кабинете клиента"
    invited = client.post(
        "/referral/invite",
        data={
            "channel": "sms",
            "recipient": "+7 910 123-45-67",
            "consent": "y",
            "csrf_token": csrf_token(page.text),
        },
    )
    assert invited.status_code == 303
    with outside_requests(demo):
        actions = [e.action for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions == ["open_cabinet", "cabinet_apply_code", "cabinet_invite"]
    log = client.get("/manage/audit").text
    assert "код применен в кабинете клиента" in log and "открыт кабинет клиента" in log
    assert "приглашение из кабинета клиента" in log


# ---- demo data, scenarios, reset -----------------------------------------------------------


def test_the_demo_seed_raises_no_fraud_signal(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo = make_app(DEMO_MODE=True)
    with demo.app_context():
        seed(demo.extensions["context"])
        zone = demo.extensions["context"].timezone
        assert all(fraud.signals_for(d.id, zone) == [] for d in DEMO_CLIENTS)
        domains = [d.email.rsplit("@", 1)[1] for d in DEMO_CLIENTS]
        phones = [re.sub(r"\D", "", d.phone) for d in DEMO_CLIENTS]
        assert len(set(domains)) == len(domains) and len(set(phones)) == len(phones)
        db.session.remove()


def test_scenarios_are_for_demo_mode_only(app: Flask, client: FlaskClient) -> None:
    make_manager(app, right=True)
    sign_in(client)
    assert client.get("/manage/scenarios").status_code == 404
    token = csrf_token(client.get("/manage/dashboard").text)
    assert (
        client.post("/manage/scenarios/promo/start", data={"csrf_token": token}).status_code == 404
    )
    assert client.post("/manage/demo/reset", data={"csrf_token": token}).status_code == 404
    assert "Сценарии" not in client.get("/manage/dashboard").text


def test_a_story_starts_afresh_and_touches_nothing_else(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo = make_app(DEMO_MODE=True)
    context: Context = demo.extensions["context"]
    with outside_requests(demo):
        seed(context)
        make_client(5000, "Не демо", registered_at=datetime.now(UTC))
    client = demo.test_client()
    sign_in(client, DEMO_MANAGER_EMAIL, DEMO_PASSWORD)
    page = client.get("/manage/scenarios").text
    with outside_requests(demo):
        titles = [view.title for view in scenarios.board(context)]
    assert len(titles) == len(stories.STORIES)
    assert f"Лестница от {percent(0)} до {percent(100)} и пакеты SMS" in titles  # terms in force
    for title in titles:
        assert title.replace(NBSP, " ") in page
    token = csrf_token(page)
    ids = []
    ladder = f"Лестница от {percent(0)} до {percent(100)} и пакеты SMS".replace(NBSP, " ")
    for _ in range(2):
        started = client.post("/manage/scenarios/ladder/start", data={"csrf_token": token})
        assert started.status_code == 303 and started.location.endswith("#story-ladder")
        # What the manager then reads on the story's card: its title in the terms' words.
        card = read(client.get("/manage/scenarios").text).by_id("story-ladder").text
        assert f"Сценарий «{ladder}» начат с новыми клиентами." in card
        assert not re.search(r"\{\w*\}", card)  # no placeholder left unfilled («{p0}»)
        with outside_requests(demo):
            run = scenarios.latest_run("ladder")
            assert run is not None
            ids.append(sorted(run.clients.values()))
    assert ids[0][0] > 5000 and ids[1][0] > ids[0][-1]  # new ids every time
    with outside_requests(demo):
        run = scenarios.latest_run("ladder")
        assert run is not None
        run_id = run.id
    first = client.post(
        "/manage/scenarios/ladder/steps/0", data={"csrf_token": token, "run": str(run_id)}
    )
    assert first.status_code == 303
    stale = client.post(
        "/manage/scenarios/ladder/steps/1", data={"csrf_token": token, "run": str(run_id - 1)}
    )
    assert stale.status_code == 303
    assert "Сценарий начат заново" in client.get("/manage/scenarios").text
    with outside_requests(demo):
        referrer = ids[1][0]
        assert queries.standing(referrer, context.clock.now()).referred_count == 1
        assert queries.standing(5000, context.clock.now()).member is False
    # «Сбросить демо»: the demo as `make run` leaves it; the other client untouched.
    client.post("/manage/clock", data={"jump": "month", "csrf_token": token})
    reset = client.post("/manage/demo/reset", data={"csrf_token": token})
    assert reset.status_code == 303
    with outside_requests(demo):
        remaining = set(db.session.scalars(select(Client.id)))
        assert remaining == {d.id for d in DEMO_CLIENTS} | {5000}
        assert db.session.scalar(select(func.count()).select_from(DemoRun)) == 0
        assert isinstance(context.clock, DemoClock) and context.clock.offset() == 0
        assert [e.action for e in db.session.scalars(select(AuditEntry))] == ["demo_reset"]
        assert queries.standing(400, context.clock.now()).referred_count == 3


def test_flask_demo_seed_reset(runner: FlaskCliRunner, app: Flask) -> None:
    assert runner.invoke(args=["demo", "seed"]).exit_code == 0
    with outside_requests(app):
        services.join(
            app.extensions["context"], 409, queries.standing(400, msk("2023-03-31 12:00")).code
        )
    result = runner.invoke(args=["demo", "seed", "--reset"])
    assert result.exit_code == 0, result.output
    assert "Демо сброшено" in result.output
    with outside_requests(app):
        assert queries.standing(409, msk("2023-03-31 12:00")).member is False
        assert queries.standing(400, msk("2023-03-31 12:00")).referred_count == 3


# ---- the audit log -------------------------------------------------------------------------


def test_the_audit_log_is_in_real_time_order_with_the_cabinets_time_beside(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo, client = demo_manager(make_app)
    token = csrf_token(client.get("/manage/dashboard").text)
    client.post("/manage/clock", data={"jump": "month", "csrf_token": token})
    client.post("/manage/clock", data={"jump": "now", "csrf_token": token})
    rows = re.findall(
        r"<tr>\s*<td data-label=\"Когда\">(.*?)</tr>", client.get("/manage/audit").text, re.S
    )
    assert len(rows) == 2
    latest, earlier = rows
    # The move back to now is listed first, though the cabinet's time it happened at is earlier.
    assert "→" in latest and "→" in earlier
    jump_back = re.search(r"(\d\d\.\d\d\.\d{4} \d\d:\d\d) → (\d\d\.\d\d\.\d{4} \d\d:\d\d)", latest)
    jump_ahead = re.search(
        r"(\d\d\.\d\d\.\d{4} \d\d:\d\d) → (\d\d\.\d\d\.\d{4} \d\d:\d\d)", earlier
    )
    assert jump_back and jump_ahead
    assert jump_back.group(1) == jump_ahead.group(2)  # from where the first move landed
    assert "Время кабинета" in client.get("/manage/audit").text


# ---- the client's page ---------------------------------------------------------------------


def test_two_codes_in_one_minute_leave_no_phantom_row(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    from tests.web.conftest import Auth

    email = web_client(app, 400, registered_at=msk("2023-01-01 00:00"))
    context: Context = app.extensions["context"]
    with outside_requests(app):
        code = services.join(context.at(msk("2023-03-01 09:00")), 400).code
        for client_id, at in ((401, "2023-03-31 22:04:10"), (402, "2023-03-31 22:04:40")):
            make_client(client_id, registered_at=msk("2023-03-20 09:00"))
            services.join(context.at(msk(at)), client_id, code)
        assert len(queries.history(400)) == 2  # the data keeps both grants
    clock.set(msk("2023-04-01 12:00"))
    Auth(client).login(email)
    html = client.get("/referral").text
    assert "уровень 2" in html and "уровень 1" not in html
    assert html.count("31.03.2023 22:04") == 1
    told = (
        f"Еще 1 клиент — и скидка станет {percent(60)} до 31.03.2024, "
        f"а в подарок — {sms_pack(1200)}."
    )
    assert told.replace(NBSP, " ") in html


def test_the_sms_options_link_is_a_setting(
    app: Flask, client: FlaskClient, make_app: Callable[..., Flask]
) -> None:
    from tests.web.conftest import Auth

    email = web_client(app, 400, registered_at=msk("2023-01-01 00:00"))
    with outside_requests(app):
        services.join(app.extensions["context"], 400)
    Auth(client).login(email)
    assert "Подробнее об SMS опциях" not in client.get("/referral").text
    other = make_app(SMS_OPTIONS_URL="https://operator.example/sms")
    other_client = other.test_client()
    Auth(other_client).login(email)
    html = other_client.get("/referral").text
    # once, under «Таблица скидок» (not in every row with a pack)
    assert (
        read(html).links().count(("Подробнее об SMS опциях", "https://operator.example/sms")) == 1
    )


# ---- «Сезонная акция» ----------------------------------------------------------------------


def _terms_in_force(demo: Flask) -> int:
    with outside_requests(demo):
        return queries.terms_at(demo.extensions["context"].clock.now()).version


def test_the_seasonal_campaign_story_and_the_reset_that_takes_it_back(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo, client = demo_manager(make_app)
    context: Context = demo.extensions["context"]
    board = client.get("/manage/scenarios").text
    token = csrf_token(board)
    # The campaign's words come from the terms in force: the help page's 20 %, doubled.
    assert f"Сезонная акция: {percent(40)} за первого друга".replace(NBSP, " ") in board
    client.post("/manage/scenarios/season/start", data={"csrf_token": token})
    with outside_requests(demo):
        run = scenarios.latest_run("season")
        assert run is not None and run.terms_version is None
        ids = {k: int(v) for k, v in run.clients.items()}
        run_id = run.id

    def step(index: int) -> str:
        response = client.post(
            f"/manage/scenarios/season/steps/{index}",
            data={"csrf_token": token, "run": str(run_id)},
        )
        assert response.status_code == 303, response.text
        return str(response.location)

    def referrer_grants(client_id: int) -> list[tuple[int, int]]:
        with outside_requests(demo):
            return [
                (g.percent, g.terms_version)
                for g in db.session.scalars(
                    select(Grant).where(Grant.client_id == client_id, Grant.reason == "referrer")
                )
            ]

    # The step that needs the campaign says so, and moves nothing.
    step(4)
    assert "Акция еще не опубликована" in client.get("/manage/scenarios").text
    assert _terms_in_force(demo) == 1

    step(0)  # published: from the next midnight, for two weeks
    with outside_requests(demo):
        row = db.session.get(ProgramTerms, db.session.get(DemoRun, run_id).terms_version)
        assert row is not None and row.status == "published" and row.ends_at is not None
        assert row.as_terms().ladder[0].percent == 40
        assert row.effective_from > context.clock.now()
        version, ends_at = row.id, row.ends_at
    assert _terms_in_force(demo) == 1  # not yet in force
    step(0)
    assert "Акция этого запуска уже опубликована" in client.get("/manage/scenarios").text
    assert step(1).endswith("/manage/terms?story=season&step=1")
    terms_page = client.get("/manage/terms?story=season&step=1").text
    assert stories.CAMPAIGN_TITLE in terms_page and "предстоит" in terms_page
    way_back = read(terms_page).by_id("way-back")  # the link back to the step
    assert way_back.text.startswith("← К сценарию")
    assert way_back.attrs["href"] == "/manage/scenarios#story-season-step-1"
    assert "условия опубликованы" in client.get("/manage/audit").text

    step(2)  # +1 day: the campaign is in force
    assert _terms_in_force(demo) == version
    step(3)  # A applies R's code: level 1 of the campaign
    assert referrer_grants(ids["R"]) == [(40, version)]

    step(4)  # the day after the campaign's end: the terms before it, again
    with outside_requests(demo):
        assert context.clock.now() > ends_at
    assert _terms_in_force(demo) == 1
    step(5)  # a newcomer applies S's code: the regular level 1
    with outside_requests(demo):
        run = db.session.get(DemoRun, run_id, populate_existing=True)
        assert run is not None
        ids = {k: int(v) for k, v in run.clients.items()}
    assert referrer_grants(ids["S"]) == [(20, 1)]
    assert referrer_grants(ids["R"]) == [(40, version)]  # nothing granted changes
    board = client.get("/manage/scenarios").text
    assert f"{ids['R']} «Орион»: скидка {percent(40)}".replace(NBSP, " ") in board
    assert f"{ids['S']} «Сигма»: скидка {percent(20)}".replace(NBSP, " ") in board

    # R's cabinet: its campaign discount kept, «Таблица скидок» back to the regular terms.
    page = client.get(step(6), follow_redirects=True).text
    assert f'id="discount">{percent(40)}<'.replace(NBSP, " ") in page
    ladder = page[page.index('id="ladder-title"') :]
    assert f"Вы получаете скидку {percent(20)} за каждого".replace(NBSP, " ") in ladder
    first_row = re.search(r'data-label="Скидка">([^<]*)<', ladder)
    assert first_row and first_row.group(1) == percent(20).replace(NBSP, " ")

    # «Сбросить демо» takes the campaign back, with its entries in the log.
    reset = client.post("/manage/demo/reset", data={"csrf_token": token})
    assert reset.status_code == 303
    with outside_requests(demo):
        assert db.session.get(ProgramTerms, version) is None
        assert queries.schedule().upcoming(context.clock.now()) == ()
        assert not [
            e
            for e in db.session.scalars(select(AuditEntry))
            if (e.details or {}).get("version") == version
        ]
