"""Russian typography on the pages, as the browser receives them (raw bytes: the other web
tests read the text with plain spaces)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.support.page import page as read
from tests.web.conftest import Auth, web_client
from tests.web.test_manage import make_manager, manager_login

NBSP = "\u00a0"


def raw(client: FlaskClient, url: str) -> str:
    return client.get(url).data.decode("utf-8")


def test_the_page_binds_short_words_and_numbers(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 409, "НовыйОфис"))
    html = raw(client, "/referral")
    assert f"распространяется на{NBSP}все услуги" in html  # no hanging «на»
    assert f"пакет из{NBSP}1{NBSP}200{NBSP}SMS" in html  # «1200 / SMS» never splits
    discounts = [td.text for td in read(html).all("td", data_label="Скидка")]
    assert f"20{NBSP}%" in discounts  # ru-RU percent, by Babel
    assert "использование услуги «Корпоративная АТС»" in html.replace(NBSP, " ")


def test_the_dashboard_shows_no_rate_for_no_invitations(app: Flask, client: FlaskClient) -> None:
    make_manager(app)
    manager_login(client)
    html = client.get("/manage/dashboard").text
    assert read(html).by_id("m-conversion").text == "—"  # not «0.0%» for 0 of 0
    assert "доставленных приглашений пока нет" in html
