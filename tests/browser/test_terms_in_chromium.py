"""«Условия программы» in Chromium: a manager publishes a campaign from the panel, a referral
made during it gets the campaign's terms, and the page reads the previous terms after it ends
(the demo's time machine moves the clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.conftest import output_dir

MOSCOW = ZoneInfo("Europe/Moscow")


def test_a_campaign_published_in_the_panel_applies_while_it_runs(
    browser: Any, demo_server: str
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=demo_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    tomorrow = (datetime.now(UTC).astimezone(MOSCOW) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    ends = tomorrow + timedelta(days=10)
    try:
        page.goto("/login")
        page.get_by_role("button", name="Войти как 400 «АльфаТелеком»").click()
        code = page.locator("#code-value").get_attribute("data-code")
        assert code
        page.get_by_role("button", name="Выйти").click()

        page.goto("/manage/login")
        page.get_by_label("Email").fill("manager@example.ru")
        page.get_by_label("Пароль").fill("demo12345")
        page.get_by_role("button", name="Войти").click()
        page.get_by_role("link", name="Условия программы").click()
        expect(page.get_by_role("heading", name="Сейчас действует: версия 1")).to_be_visible()
        page.get_by_role("link", name="Новая версия условий").click()
        page.get_by_label("Название").fill("Сезонная акция")
        page.get_by_label("Конец акции").fill(ends.strftime("%Y-%m-%dT%H:%M"))
        page.get_by_label("Скидка новому клиенту по коду, %").fill("35")
        page.get_by_label("Срок скидки новому клиенту, месяцев").fill("2")
        page.get_by_label("Скидка, уровень 1", exact=True).fill("0")
        page.get_by_role("button", name="Сохранить черновик").click()
        expect(page.get_by_text("Скидку уровня 1 — целое число от 1 до 100.")).to_be_visible()
        page.get_by_label("Скидка, уровень 1", exact=True).fill("40")  # «40% за первого друга»
        page.get_by_role("button", name="Сохранить черновик").click()
        expect(page.get_by_role("heading", name="Предпросмотр на текущих данных")).to_be_visible()
        expect(page.locator("#preview-liability")).to_contain_text("процент-месяцев")
        page.screenshot(path=str(output_dir() / "manage-terms-preview.png"), full_page=True)
        page.get_by_label("Я проверил предпросмотр").check()
        page.get_by_role("button", name="Опубликовать").click()
        expect(page.get_by_text("опубликована: действует с")).to_be_visible()
        expect(page.locator("#terms-upcoming")).to_contain_text("Сезонная акция")

        # The next day the campaign is in force: a new client applies 400's code.
        page.goto("/manage/dashboard")
        page.get_by_role("button", name="+1 день").click()
        page.goto("/manage/terms")
        expect(page.locator("#terms-in-force h2")).to_contain_text("«Сезонная акция»")
        page.get_by_role("button", name="Выйти").click()
        page.goto("/login")
        page.get_by_role("button", name="Войти как 409 «НовыйОфис»").click()
        page.get_by_label("Код приглашения").fill(code)
        page.get_by_role("button", name="Применить").click()
        expect(page.get_by_text("вы получили скидку 35 % на два месяца")).to_be_visible()
        expect(page.locator(".table--ladder tbody tr").first).to_contain_text("40 %")
        # On a phone the campaign's line starts «Акция до …», not «Акция» alone on its line.
        page.set_viewport_size({"width": 375, "height": 812})
        campaign = page.locator("#campaign-terms")
        expect(campaign).to_contain_text("включительно: за первого клиента 40 %")
        assert _line_of(campaign, "Акция") == _line_of(campaign, "до"), campaign.inner_text()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.get_by_role("button", name="Выйти").click()

        # A month later the campaign is over: the help page's terms again.
        page.goto("/manage/login")
        page.get_by_label("Email").fill("manager@example.ru")
        page.get_by_label("Пароль").fill("demo12345")
        page.get_by_role("button", name="Войти").click()
        page.goto("/manage/dashboard")
        page.get_by_role("button", name="+1 месяц").click()
        page.goto("/manage/terms")
        expect(page.locator("#terms-in-force h2")).to_contain_text("версия 1")
        page.get_by_role("button", name="Выйти").click()
        page.goto("/login")
        page.get_by_role("button", name="Войти как 400 «АльфаТелеком»").click()
        expect(page.locator(".table--ladder tbody tr").first).to_contain_text("20 %")
    finally:
        context.close()


def _line_of(element: Any, word: str) -> float:
    """The top of the line where `word` first stands as a word in `element`'s text (its first
    text node), in CSS pixels."""
    top: float = element.evaluate(
        r"""(el, word) => {
            const node = document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode();
            const found = new RegExp("(^|\\s)" + word + "(?=\\s|$)", "u").exec(node.textContent);
            const at = found.index + found[1].length;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, at + 1);
            return range.getBoundingClientRect().top;
        }""",
        word,
    )
    return top
