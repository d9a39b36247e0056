"""«Условия программы» in the panel with the Flask client, and what clients and the API read
while a campaign is in force and after it ends."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.api import tokens
from cabinet.audit.models import AuditEntry
from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.invitations.models import Invitation
from cabinet.referrals import services
from cabinet.referrals.terms import sms_pack
from cabinet.texts import NBSP, percent
from tests.conftest import msk
from tests.support.page import page as read
from tests.support.sign_in import make_manager, sign_in_manager
from tests.web.conftest import Auth, csrf_token, outside_requests, web_client


def shown(value: int) -> str:
    """A percent as the test client reads a page (non-breaking spaces read as plain ones)."""
    return percent(value).replace(NBSP, " ")


EDITOR, SUPPORT = "pm@example.ru", "support@example.ru"
APRIL_CAMPAIGN = {
    "title": "Апрельская акция",
    "effective_from": "2023-04-01T00:00",
    "ends_at": "2023-05-01T00:00",
    "referee_percent": "35",
    "referee_months": "2",
    "apply_window_months": "1",
    "max_discount_percent": "100",
    "level-1-percent": "45",
    "level-1-months": "3",
    "level-2-percent": "65",
    "level-2-months": "6",
}


def _managers(app: Flask) -> None:
    make_manager(app, EDITOR, "Продакт", edits_program_terms=True)
    make_manager(app, SUPPORT, "Поддержка")


def _login(client: FlaskClient, email: str) -> None:
    sign_in_manager(client, email)


def _post(client: FlaskClient, url: str, form_url: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf_token(client.get(form_url).text)
    return client.post(url, data={**data, "csrf_token": token})


def _publish_campaign(client: FlaskClient) -> int:
    saved = _post(client, "/manage/terms/new", "/manage/terms/new", APRIL_CAMPAIGN)
    assert saved.status_code == 303
    version = int(saved.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    url = f"/manage/terms/{version}"
    published = _post(client, f"{url}/publish", url, {"confirm": "yes"})
    assert published.status_code == 303
    return version


def test_the_list_shows_version_1_in_force_to_every_manager(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, SUPPORT)
    page = client.get("/manage/terms")
    assert page.status_code == 200
    assert "Сейчас действует: версия 1 «Условия из справки»" in page.text
    assert sms_pack(3200).replace(NBSP, " ") in page.text
    assert "Новая версия условий" not in page.text  # no right, no button
    assert "доступны для просмотра" in page.text


def test_a_manager_without_the_right_is_refused_and_nothing_changes(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, SUPPORT)
    refused = _post(client, "/manage/terms/new", "/manage/terms", APRIL_CAMPAIGN)
    assert refused.status_code == 403
    assert "только менеджер с правом «Условия программы»" in refused.text
    with outside_requests(app):
        assert db.session.scalars(select(AuditEntry)).all() == []


def test_the_editor_explains_every_bad_field_in_russian_and_keeps_what_was_typed(
    app: Flask, client: FlaskClient
) -> None:
    _managers(app)
    _login(client, EDITOR)
    new = client.get("/manage/terms/new")
    assert new.status_code == 200
    assert 'name="level-5-sms_pack" id="f-level-5-sms_pack"' in new.text  # from version 1
    bad = {**APRIL_CAMPAIGN, "effective_from": "2023-03-01T00:00", "level-2-months": "полгода"}
    response = _post(client, "/manage/terms/new", "/manage/terms/new", bad)
    assert response.status_code == 422
    assert "Начало не может быть в прошлом: сейчас 31.03.2023 12:00." in response.text
    assert "Срок уровня 2 — целое число от 1 до 120." in response.text
    assert 'value="полгода"' in response.text
    assert 'aria-describedby="f-level-2-months-error"' in response.text


def test_preview_then_publish_with_confirmation_then_clients_and_the_api_read_the_campaign(
    app: Flask, client: FlaskClient, auth: Auth, clock: SettableClock
) -> None:
    _managers(app)
    context: Context = app.extensions["context"]
    with outside_requests(app):
        api_token = tokens.issue(context, "billing").token
    member = web_client(app, 1, "АльфаТелеком", registered_at=msk("2023-03-01 09:00"))
    with outside_requests(app):
        code = services.join(context.at(msk("2023-03-01 10:00")), 1).code
    _login(client, EDITOR)
    saved = _post(client, "/manage/terms/new", "/manage/terms/new", APRIL_CAMPAIGN)
    url = saved.headers["Location"]
    version = int(url.rstrip("/").rsplit("/", 1)[1])
    draft = client.get(url)
    assert "скидка за этого клиента изменилась бы у 1 из 1 участников" in read(draft.text).text
    assert "процент-месяцев" in draft.text
    # Without the confirmation nothing is published.
    unconfirmed = _post(client, f"{url}/publish", url, {})
    assert unconfirmed.status_code == 303
    assert "Подтвердите действие" in client.get(url).text
    assert "Сейчас действует: версия 1" in client.get("/manage/terms").text
    published = _post(client, f"{url}/publish", url, {"confirm": "yes"})
    assert published.status_code == 303
    listing = client.get("/manage/terms")
    assert "Апрельская акция" in listing.text and "предстоит" in listing.text
    clock.set(msk("2023-04-10 12:00"))
    _login(client, EDITOR)  # ten days later: the session ended long ago
    assert f"версия {version} «Апрельская акция», акция до 01.05.2023 00:00" in (
        read(client.get("/manage/dashboard").text).text
    )
    listing = client.get("/manage/terms")
    assert "снова в силе после акции" in listing.text  # version 1
    with outside_requests(app):
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["terms_draft_saved", "terms_published"]
    client.post("/manage/logout", data={"csrf_token": csrf_token(listing.text)})

    # During the campaign: the member's page, a friend's code, the SMS text, the API.
    clock.set(msk("2023-04-10 12:00"))
    auth.login(member)
    page = client.get("/referral")
    # «Таблица скидок» of the campaign, the regular terms noted; the campaign and its end said
    discounts = [td.text for td in read(page.text).all("td", data_label="Скидка")]
    assert discounts[0] == f"{shown(45)} (обычно {shown(20)})"
    assert shown(100) not in discounts
    assert (
        f"Акция до 30.04.2023 включительно: за первого клиента {shown(45)} (обычно {shown(20)}), "
        f"на уровне 2 — {shown(65)} (обычно {shown(40)}), новому клиенту по коду — {shown(35)} "
        f"на 2 месяца (обычно {shown(20)} на 3 месяца)." in page.text
    )
    assert f"скидку {shown(45)} за каждого нового клиента" not in page.text  # only the first
    assert "поднимает ее до следующего уровня «Таблицы скидок»" in page.text
    dialog = client.get("/referral/invite?channel=sms", headers={"HX-Request": "true"})
    assert f"с условиями программы (скидка {shown(35)} на два месяца)" in dialog.text
    friend = web_client(app, 2, "ТехСтрой", registered_at=msk("2023-04-05 09:00"))
    client.post("/logout", data={"csrf_token": csrf_token(page.text)})
    auth.login(friend)
    applied = auth.post("/referral/apply", {"code": code}, follow_redirects=True)
    assert f"вы получили скидку {shown(35)} на два месяца" in applied.text
    auth.post(
        "/referral/invite", {"channel": "sms", "recipient": "+7 910 123-45-67", "consent": "y"}
    )
    with outside_requests(app):
        sent = db.session.scalars(select(Invitation.payload).order_by(Invitation.id)).all()
    # The SMS names the campaign's percent (its months are on the /r/ page it links to).
    assert sent and f"скидка {percent(35)}: " in json.loads(sent[-1])["text"]
    headers = {"Authorization": f"Bearer {api_token}"}
    body = client.get("/api/v1/program", headers=headers).get_json()
    assert (body["current"]["version"], body["current"]["referee"]["percent"]) == (version, 35)
    assert body["then"]["version"] == 1
    discount = client.get("/api/v1/clients/2/discount", headers=headers).get_json()
    assert (discount["percent"], discount["terms_version"]) == (35, version)

    # After the campaign: version 1 again, for the page and the API.
    clock.set(msk("2023-05-02 12:00"))
    body = client.get("/api/v1/program", headers=headers).get_json()
    assert (body["current"]["version"], body["then"]) == (1, None)


def test_a_version_can_be_withdrawn_before_it_starts_only(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    _managers(app)
    _login(client, EDITOR)
    version = _publish_campaign(client)
    url = f"/manage/terms/{version}"
    assert "Отозвать версию" in client.get(url).text
    clock.set(msk("2023-04-01 00:00"))
    _login(client, EDITOR)  # twelve hours later: the session ended
    assert "Отозвать версию" not in client.get(url).text
    refused = _post(client, f"{url}/withdraw", "/manage/terms", {"confirm": "yes"})
    assert refused.status_code == 409
    assert "действует с 01.04.2023 00:00" in refused.text
    clock.set(msk("2023-03-31 23:00"))
    _login(client, EDITOR)  # back in time: the cookie signed later is refused
    assert _post(client, f"{url}/withdraw", url, {"confirm": "yes"}).status_code == 303
    assert "Сейчас действует: версия 1" in client.get("/manage/terms").text


def test_under_version_1_the_page_keeps_the_help_pages_wording(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    context: Context = app.extensions["context"]
    member = web_client(app, 1, "АльфаТелеком", registered_at=msk("2023-03-25 09:00"))
    with outside_requests(app):
        services.join(context.at(msk("2023-03-26 10:00")), 1)
    auth.login(member)
    page = client.get("/referral").text
    # Before applying a friend's code, the member reads the offer of the terms in force.
    assert f"Скидка {shown(20)} на 3 месяца: с " in page
    assert f"скидка будет увеличена на {shown(20)} и продлена" in " ".join(page.split())
    assert "в течение месяца после регистрации АТС" in page
    dialog = client.get("/referral/invite?channel=sms", headers={"HX-Request": "true"}).text
    assert f"с условиями программы (скидка {shown(20)} на три месяца)" in dialog


def test_the_program_before_its_first_terms_is_a_bad_at_not_a_failure(
    app: Flask, client: FlaskClient
) -> None:
    with outside_requests(app):
        api_token = tokens.issue(app.extensions["context"], "billing").token
    headers = {"Authorization": f"Bearer {api_token}"}
    answer = client.get("/api/v1/program?at=1975-03-24", headers=headers)
    assert answer.status_code == 400
    body = answer.get_json()
    assert body["detail"] == "Параметр at: в этот момент условия программы не действовали."
    assert body["errors"][0]["parameter"] == "at"
