"""Every page state a person meets, at 1280 and at 320 px: axe-core finds nothing, the page is
no wider than its viewport, the console stays clean and the HTML is valid (vnu)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from cabinet.auth.services import create_manager
from tests.browser.checks import ConsoleLog, HtmlChecker, PageChecks
from tests.browser.checks import html_checker as html_checker  # noqa: F401 - the fixture
from tests.browser.test_referral_page_in_chromium import referrer_with_referees, sign_in
from tests.conftest import msk
from tests.web.conftest import PASSWORD, outside_requests, web_client

WIDTHS = (1280, 320)
Open = Callable[[], tuple[Page, PageChecks]]


@pytest.fixture(params=WIDTHS, ids=lambda width: f"{width}px")
def open_checked(request: pytest.FixtureRequest, new_page: Any, html_checker: HtmlChecker) -> Open:
    width: int = request.param

    def open_() -> tuple[Page, PageChecks]:
        page: Page = new_page({"width": width, "height": 800})
        log = ConsoleLog()
        log.watch(page)
        return page, PageChecks(html_checker, log)

    return open_


def open_dialog(page: Page) -> Any:
    with page.expect_response(lambda r: "/referral/invite" in r.url):
        page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    return dialog


def submit_dialog(page: Page, dialog: Any) -> None:
    with page.expect_response(lambda r: r.request.method == "POST"):
        dialog.get_by_role("button", name="Пригласить").click()


def choose_tab(page: Page, name: str) -> None:
    with page.expect_response(lambda r: "tab=" in r.url):
        page.get_by_role("tab", name=name).click()
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


def test_signed_out(app: Flask, open_checked: Open) -> None:
    page, check = open_checked()
    page.goto("/login")
    check(page, "/login")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    check(page, "/login, empty")
    page.get_by_label("Email").fill("nobody@example.ru")
    page.get_by_label("Пароль").fill("wrong-password")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("alert")).to_contain_text("Неверный")
    check(page, "/login, wrong password")
    page.goto("/manage/login")
    check(page, "/manage/login")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    check(page, "/manage/login, empty")
    page.goto("/no-such-page")
    check(page, "404")


def test_a_new_client_refused_then_joining(app: Flask, open_checked: Open) -> None:
    page, check = open_checked()
    sign_in(page, web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-20 09:00")))
    check(page, "non-member")
    page.get_by_label("Код приглашения").fill("abcdefabc")
    with page.expect_response(lambda r: r.url.endswith("/referral/apply")):
        page.get_by_role("button", name="Применить").click()
    expect(page.locator("#code-error")).to_be_visible()
    check(page, "refused code")
    with page.expect_response(lambda r: r.url.endswith("/referral/join")):
        page.get_by_role("button", name="У меня нет кода").click()
    expect(page.locator("#welcome")).to_be_visible()
    check(page, "member without referred clients, history")
    # The tabs are one row (on a phone it scrolls sideways); each tab's text is whole.
    tops = {round(tab.bounding_box()["y"]) for tab in page.get_by_role("tab").all()}  # type: ignore[index]
    assert len(tops) == 1, tops
    for tab in page.get_by_role("tab").all():
        assert tab.evaluate("t => t.scrollWidth <= t.clientWidth"), tab.inner_text()
    for tab in ("Приведенные клиенты", "Приглашения"):
        choose_tab(page, tab)
        check(page, f"member without referred clients, {tab}")
    dialog = open_dialog(page)
    check(page, "share dialog, SMS")
    submit_dialog(page, dialog)
    expect(dialog.locator("[aria-invalid=true]")).to_have_count(2)
    check(page, "share dialog, SMS, errors")
    with page.expect_response(lambda r: "part=form" in r.url):
        dialog.get_by_role("tab", name="Отправить email").click()
    expect(dialog.get_by_label("Email получателя")).to_be_visible()
    check(page, "share dialog, email")
    dialog.get_by_label("Email получателя").fill("friend@")
    submit_dialog(page, dialog)
    expect(dialog.locator("[aria-invalid=true]")).to_have_count(2)
    check(page, "share dialog, email, errors")
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    page.goto("/referral/invite")
    check(page, "share page without JavaScript's dialog")


def test_a_client_past_the_window(app: Flask, open_checked: Open) -> None:
    page, check = open_checked()
    sign_in(page, web_client(app, 411, "ПоздноПришел", registered_at=msk("2022-01-10 09:00")))
    expect(page.get_by_role("button", name="Вступить в программу")).to_be_visible()
    check(page, "non-member past the window")


def test_a_member_with_referred_clients(app: Flask, open_checked: Open) -> None:
    email, _ = referrer_with_referees(app)
    page, check = open_checked()
    sign_in(page, email)
    check(page, "member with referred clients, history")
    choose_tab(page, "Приведенные клиенты")
    check(page, "member with referred clients, clients")
    page.go_back()  # htmx restores the history tab from its snapshot
    history = page.get_by_role("tab", name="История скидок")
    expect(history).to_have_attribute("aria-selected", "true")
    check(page, "member with referred clients, history restored by Back")
    page.go_forward()
    expect(page.get_by_role("tab", name="Приведенные клиенты")).to_have_attribute(
        "aria-selected", "true"
    )
    dialog = open_dialog(page)
    dialog.get_by_label("Номер телефона получателя").fill("+7 910 123-45-67")
    dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
    submit_dialog(page, dialog)
    expect(dialog.locator("#share-status")).to_contain_text("Приглашение отправлено")
    check(page, "share dialog, the invitation sent")
    dialog.get_by_role("button", name="Готово").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.get_by_role("tabpanel")).to_contain_text("+7 910 123-45-67")
    check(page, "member with referred clients, invitations, just sent")


def test_the_managers_pages(app: Flask, open_checked: Open) -> None:
    email, _ = referrer_with_referees(app)
    with outside_requests(app):
        create_manager("pm@example.ru", PASSWORD, "Анна", datetime.now(UTC), manages_webhooks=True)
    page, check = open_checked()
    page.goto("/manage/login")
    page.get_by_label("Email").fill("pm@example.ru")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Обзор программы")).to_be_visible()
    check(page, "dashboard")
    page.goto("/manage/clients?q=Комплект")
    expect(page.get_by_role("link", name="ТехКомплект")).to_be_visible()
    check(page, "client search")
    page.goto("/manage/clients?q=400")
    page.get_by_role("link", name="АльфаТелеком").click()
    expect(page.get_by_role("heading", name="400 «АльфаТелеком»")).to_be_visible()
    check(page, "client 400")
    page.goto("/manage/clients?q=409")  # nobody
    check(page, "client search, nothing found")
    page.goto("/manage/audit")
    check(page, "audit log")
    page.goto("/manage/report?month=2023-03")
    expect(page.locator("#report-table")).to_contain_text("Итого")
    check(page, "finance report")
    page.goto("/manage/report?month=2023-13")
    expect(page.locator("#report-month-error")).to_contain_text("не понят")
    check(page, "finance report, a bad month")
    page.goto("/manage/webhooks")
    page.get_by_label("Адрес (URL)").fill("https://billing.example.ru/hooks")
    page.get_by_label("Описание").fill("Биллинг")
    page.get_by_role("button", name="Добавить").click()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    check(page, "webhooks, a subscriber just added")
    page.get_by_role("link", name="https://billing.example.ru/hooks").click()
    expect(page.get_by_role("heading", name="Журнал доставки")).to_be_visible()
    check(page, "webhook delivery log")


# Empty space a card may keep below its content (its padding and a little air).
CARD_SLACK = """card => { const kids = [...card.children];
  const top = kids[0].getBoundingClientRect().top;
  const bottom = kids[kids.length - 1].getBoundingClientRect().bottom;
  return card.getBoundingClientRect().height - (bottom - top); }"""


def test_cards_fit_their_content_on_a_desktop(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app)
    page = new_page({"width": 1280, "height": 900})
    sign_in(page, email)
    for card in page.locator(".summary .card").all():
        assert card.evaluate(CARD_SLACK) < 60, card.inner_text()


def test_the_managers_pages_on_a_phone_and_zoomed(
    app: Flask, new_page: Any, html_checker: HtmlChecker
) -> None:
    referrer_with_referees(app)
    with outside_requests(app):
        create_manager("pm@example.ru", PASSWORD, "Анна", datetime.now(UTC))
    page = new_page({"width": 375, "height": 812})
    log = ConsoleLog()
    log.watch(page)
    check = PageChecks(html_checker, log)
    page.goto("/manage/login")
    page.get_by_label("Email").fill("pm@example.ru")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Обзор программы")).to_be_visible()
    # The menu is a row of links, not a column filling the phone's first screen.
    menu = page.get_by_role("navigation", name="Меню менеджера").bounding_box()
    assert menu is not None and menu["height"] < 812 / 4
    # The chart's dates and numbers are text at the page's size, not a shrunken drawing.
    sizes = page.locator(".chart tbody th, .chart__value").evaluate_all(
        "cells => cells.map(c => parseFloat(getComputedStyle(c).fontSize))"
    )
    assert sizes and min(sizes) >= 14
    # 1280 px at 200% zoom is 640 CSS px: the search results still fit.
    page.set_viewport_size({"width": 640, "height": 450})
    page.goto("/manage/clients?q=Комплект")
    expect(page.get_by_role("link", name="ТехКомплект")).to_be_visible()
    check(page, "client search at 200% zoom")


@pytest.mark.parametrize("width", (1280, 375, 320), ids=lambda width: f"{width}px")
def test_every_managers_page_in_demo_mode(
    width: int, browser: Any, demo_server: str, html_checker: HtmlChecker
) -> None:
    """The panel as the demo shows it, each page with its widest content: the dashboard with
    the time machine, «Сценарии» with a story under way and its outcome on the card, the card
    of a referrer with referred clients and fraud signals, «Условия программы» with an upcoming
    campaign and what it changes, a draft with its preview, the audit log."""
    from cabinet.demo.seed import DEMO_MANAGER_EMAIL, DEMO_PASSWORD

    context = browser.new_context(
        viewport={"width": width, "height": 800}, base_url=demo_server, locale="ru-RU"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    log = ConsoleLog()
    log.watch(page)
    check = PageChecks(html_checker, log)
    try:
        page.goto("/manage/login")
        page.get_by_label("Email").fill(DEMO_MANAGER_EMAIL)
        page.get_by_label("Пароль").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page.get_by_role("heading", name="Обзор программы")).to_be_visible()
        check(page, "dashboard, demo mode")
        page.goto("/manage/scenarios")
        check(page, "«Сценарии»")
        fraud = page.locator("#story-fraud")
        fraud.get_by_role("button", name="Начать").click()
        expect(fraud.get_by_role("button", name="Начать заново")).to_be_visible()
        page.locator("#story-fraud-step-0 form button").click()
        expect(page.locator("#story-fraud-step-0 [role=status]")).to_contain_text("Коды применены")
        check(page, "«Сценарии», a story under way")
        page.locator("#story-season .scenario__head button").click()
        page.locator("#story-season-step-0 form button").click()
        expect(page.locator("#story-season-step-0 [role=status]")).to_contain_text("опубликована")
        page.locator("#story-fraud-step-1 form button").click()
        expect(page.locator("#signals-title")).to_be_visible()
        check(page, "the card of a referrer with fraud signals")
        page.goto("/manage/clients/400")
        expect(page.get_by_role("heading", name="400 «АльфаТелеком»")).to_be_visible()
        check(page, "client 400")
        page.goto("/manage/terms")
        expect(page.locator("#terms-upcoming")).to_contain_text("уровень 1")
        check(page, "«Условия программы» with an upcoming campaign")
        page.goto("/manage/terms/new")
        page.get_by_label("Название").fill("Широкая проверка")
        page.get_by_role("button", name="Сохранить черновик").click()
        expect(page.locator("#terms-preview")).to_be_visible()
        check(page, "a draft with its preview")
        page.goto("/manage/audit")
        check(page, "audit log")
    finally:
        context.close()
