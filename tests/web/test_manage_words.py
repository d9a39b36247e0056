"""Words and numbers on the manager's pages, as the manager reads them: the preview's
percent-months and the SMS budget in ru-RU (a decimal comma, «%» after a space), an audit line
that says which version was published, and upcoming versions that say what they change."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from cabinet.texts import NBSP
from tests.support.terms_forms import terms_form
from tests.web.conftest import referrer_with_referees
from tests.web.test_program_terms_web import EDITOR, _login, _managers, _post

DECIMAL_POINT = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])")

FIRST_LEVEL_DOUBLED = terms_form(
    "Двойная скидка за первого", "2023-04-01T00:00", "2023-04-15T00:00", level_1_percent="40"
)


def text_of(html: str) -> str:
    """What a person reads: tags and the page's scripts and styles left out."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html).replace(NBSP, " "))


def _draft(client: FlaskClient) -> int:
    saved = _post(client, "/manage/terms/new", "/manage/terms/new", FIRST_LEVEL_DOUBLED)
    assert saved.status_code == 303, saved.text
    return int(saved.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_the_preview_speaks_ru_ru(app: Flask, client: FlaskClient) -> None:
    referrer_with_referees(app)
    _managers(app)
    _login(client, EDITOR)
    version = _draft(client)
    preview = client.get(f"/manage/terms/{version}").text
    liability = text_of(preview[preview.index('id="preview-liability"') :])
    liability = liability[: liability.index("процент-месяцев") + 200]
    assert re.search(r"\+\d+,\d процент-месяцев", liability), liability
    assert not DECIMAL_POINT.search(liability), liability
    table = text_of(preview[preview.index('id="terms-preview"') :])
    assert "40 % до" in table and "40%" not in table


def test_the_sms_budget_is_a_percent_in_ru_ru(app: Flask, client: FlaskClient) -> None:
    _managers(app)
    _login(client, EDITOR)
    dashboard = client.get("/manage/dashboard").text
    budget = text_of(dashboard[dashboard.index('id="m-sms-budget"') :])[:300]
    assert not DECIMAL_POINT.search(budget), budget
    assert re.search(r"\(\d+(,\d)? %\)", budget), budget


def test_the_audit_line_says_which_version_and_when(app: Flask, client: FlaskClient) -> None:
    _managers(app)
    _login(client, EDITOR)
    version = _draft(client)
    url = f"/manage/terms/{version}"
    assert _post(client, f"{url}/publish", url, {"confirm": "yes"}).status_code == 303
    log = text_of(client.get("/manage/audit").text)
    line = re.sub(r"\s+", " ", log[log.index("условия опубликованы") :])[:200]
    assert not line.startswith("условия опубликованы — —"), line
    assert (
        f"версия {version} «Двойная скидка за первого», с 01.04.2023 00:00 до 15.04.2023 00:00"
        in line
    ), line


def test_an_upcoming_version_says_what_it_changes(app: Flask, client: FlaskClient) -> None:
    _managers(app)
    _login(client, EDITOR)
    version = _draft(client)
    url = f"/manage/terms/{version}"
    assert _post(client, f"{url}/publish", url, {"confirm": "yes"}).status_code == 303
    page = client.get("/manage/terms").text
    upcoming = page[page.index('id="terms-upcoming"') : page.index('id="terms-drafts"')]
    row = re.sub(r"\s+", " ", text_of(upcoming[upcoming.index("<tbody") :]))
    assert "уровень 1: 20 % на 3 месяца → 40 % на 3 месяца" in row, row
    assert "Новому клиенту" not in text_of(upcoming)  # unchanged: not repeated
