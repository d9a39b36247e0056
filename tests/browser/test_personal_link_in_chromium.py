"""The personal link in Chromium on a 375 px phone: the page a friend opens, the code waiting
in «Применить» after sign-in (applied only by its click), and the dialog's link, QR code and
share sheet."""

from __future__ import annotations

import io
from typing import Any

import zxingcpp
from flask import Flask
from PIL import Image
from playwright.sync_api import Page, expect

from cabinet.db import db
from cabinet.invitations.models import Invitation, StopListEntry
from tests.browser.checks import ConsoleLog, HtmlChecker, PageChecks
from tests.browser.checks import html_checker as html_checker  # noqa: F401 - the fixture
from tests.browser.test_referral_page_in_chromium import referrer_with_referees, sign_in
from tests.conftest import msk
from tests.web.conftest import PASSWORD, outside_requests, web_client

PHONE = {"width": 375, "height": 812}
# What the page's navigator.share received (Chromium on Linux has no share sheet of its own).
SHARE_SHEET = """
navigator.share = function (data) { window.__shared = data; return Promise.resolve(); };
"""


def checked(new_page: Any, html_checker: HtmlChecker) -> tuple[Page, PageChecks]:
    page: Page = new_page(PHONE)
    log = ConsoleLog()
    log.watch(page)
    return page, PageChecks(html_checker, log)


def test_the_link_then_sign_in_finds_the_code_waiting_in_apply(
    app: Flask, new_page: Any, html_checker: HtmlChecker, live_server: str
) -> None:
    _, code = referrer_with_referees(app, referees=0)  # «АльфаТелеком»
    email = web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-20 09:00"))
    page, check = checked(new_page, html_checker)
    page.goto(f"/r/{code}")
    expect(page.get_by_role("heading", name="Вас приглашает АльфаТелеком")).to_be_visible()
    expect(page.get_by_text("Скидка 20\u00a0% на 3\u00a0месяца пользования")).to_be_visible()
    check(page, "/r/<code>")
    page.get_by_role("button", name="Копировать").click()
    expect(page.locator("#link-copy-status")).to_have_text("Скопировано")
    assert page.evaluate("navigator.clipboard.readText()") == code

    page.get_by_role("link", name="Войти в личный кабинет").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    field = page.get_by_label("Код приглашения")
    expect(field).to_have_value(code)
    expect(field).to_be_in_viewport()
    expect(page.locator("#code-waiting")).to_have_text(
        "Код из ссылки-приглашения: нажмите «Применить», чтобы получить скидку."
    )
    expect(page.get_by_role("button", name="Применить")).to_be_in_viewport()
    # Waiting, not applied: the client is not in the program until «Применить».
    expect(page.get_by_role("heading", name="Вступить в программу")).to_be_visible()
    expect(page.locator("#discount")).to_have_count(0)
    check(page, "/referral with the code waiting")
    page.reload()
    expect(page.get_by_label("Код приглашения")).to_have_value(code)
    expect(page.locator("#discount")).to_have_count(0)

    with page.expect_response(lambda r: r.url.endswith("/referral/apply")):
        page.get_by_role("button", name="Применить").click()
    expect(page.get_by_text("Код применен")).to_be_visible()
    expect(page.locator("#discount")).to_have_text("20\u00a0%")


def test_an_unknown_link_is_a_clear_404(
    app: Flask, new_page: Any, html_checker: HtmlChecker
) -> None:
    page, check = checked(new_page, html_checker)
    response = page.goto("/r/abcdefabc")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Ссылка-приглашение не найдена")).to_be_visible()
    check(page, "/r/<unknown>")


def test_the_dialog_shares_the_link_and_its_qr_code_reads_back(
    app: Flask, new_page: Any, html_checker: HtmlChecker, live_server: str
) -> None:
    email, code = referrer_with_referees(app, referees=0)
    link = f"{app.config['CABINET_BASE_URL']}/r/{code}"
    page, check = checked(new_page, html_checker)
    sign_in(page, email)
    with page.expect_response(lambda r: "/referral/invite" in r.url):
        page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    # No share sheet in this browser: no button for it.
    expect(dialog.get_by_role("button", name="Поделиться…")).to_be_hidden()
    expect(dialog.get_by_role("link", name="Telegram")).to_be_visible()
    check(page, "share dialog with the link")
    dialog.get_by_role("button", name="Копировать ссылку").click()
    expect(dialog.locator("#share-link-status")).to_have_text("Скопировано")
    assert page.evaluate("navigator.clipboard.readText()") == link
    qr = dialog.locator("#share-qr svg")
    qr.scroll_into_view_if_needed()
    image = Image.open(io.BytesIO(qr.screenshot()))
    found = zxingcpp.read_barcodes(image)
    assert [result.text for result in found] == [f"{link}?via=qr"]  # marked: the QR code's way


def test_the_share_sheet_where_the_browser_has_one(
    app: Flask, new_page: Any, live_server: str
) -> None:
    email, code = referrer_with_referees(app, referees=0)
    page: Page = new_page(PHONE)
    page.context.add_init_script(SHARE_SHEET)
    sign_in(page, email)
    with page.expect_response(lambda r: "/referral/invite" in r.url):
        page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    button = dialog.get_by_role("button", name="Поделиться…")
    expect(button).to_be_visible()
    button.click()
    shared = page.evaluate("window.__shared")
    assert shared["url"] == f"{app.config['CABINET_BASE_URL']}/r/{code}?via=share"
    assert shared["text"].replace("\u00a0", " ").startswith("АльфаТелеком приглашает вас")


def test_the_sms_refusal_link_asks_then_refuses_on_a_phone(
    app: Flask, new_page: Any, html_checker: HtmlChecker
) -> None:
    """The link at the end of every SMS, opened on a 375 px phone: the question with the
    number masked, «Отказаться», the answer; an unknown link is a clear 404."""
    referrer_with_referees(app, referees=0)
    with outside_requests(app):
        at = msk("2023-03-31 09:00")
        db.session.add(
            Invitation(
                key="refusal-in-chromium",
                member_id=400,
                channel="sms",
                recipient="+79101234567",
                payload="{}",
                status="sent",
                attempts=1,
                created_at=at,
                next_attempt_at=at,
                refusal_token="AbCd1234",
            )
        )
        db.session.commit()
    page, check = checked(new_page, html_checker)
    page.goto("/s/AbCd1234")
    expect(page.get_by_role("heading", name="Отказ от приглашений")).to_be_visible()
    expect(page.get_by_text("+7 910 ***-**-67")).to_be_visible()
    check(page, "/s/<token>")
    page.get_by_role("button", name="Отказаться").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Готово: на номер +7 910 ***-**-67 больше не будут приходить SMS с приглашениями"
    )
    check(page, "/s/<token> refused")
    with outside_requests(app):
        entry = db.session.get(StopListEntry, "+79101234567")
        assert entry is not None and entry.source == "sms link"
    response = page.goto("/s/ZzZz9999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Ссылка не найдена")).to_be_visible()
    check(page, "/s/<unknown>")
