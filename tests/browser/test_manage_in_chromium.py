"""The manager's panel in Chromium: the dashboard, and the time machine in a demo."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import expect

from tests.conftest import output_dir


def test_demo_story_with_the_time_machine(browser: Any, demo_server: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=demo_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        # A client in its promo period: one click from the login page.
        page.goto("/login")
        page.get_by_role("button", name="Войти как 407 «ТехСтрой»").click()
        expect(page.locator("#discount")).to_have_text("0 %")
        expect(page.get_by_text("20 % начнет действовать")).to_be_visible()
        expect(page.locator(".demo-banner")).to_contain_text("Демо-режим. Время кабинета:")
        page.get_by_role("button", name="Выйти").click()

        page.goto("/manage/login")
        page.get_by_label("Email").fill("manager@example.ru")
        page.get_by_label("Пароль").fill("demo12345")
        page.get_by_role("button", name="Войти").click()
        expect(page.get_by_role("heading", name="Обзор программы")).to_be_visible()
        expect(page.locator("#m-referrals")).to_have_text("3")
        expect(page.locator(".chart tbody tr")).to_have_count(12)
        page.screenshot(path=str(output_dir() / "manage-dashboard.png"), full_page=True)

        target = (datetime.now(UTC) + timedelta(days=30)).date()
        page.get_by_label("Дата").fill(target.strftime("%d.%m.%Y"))  # as the cabinet writes dates
        page.get_by_role("button", name="Перейти").click()
        expect(page.locator(".demo-banner")).to_contain_text(target.strftime("%d.%m.%Y"))
        expect(page.locator(".demo-banner")).to_contain_text("(машина времени)")

        page.goto("/manage/clients?q=407")
        page.get_by_role("link", name="ТехСтрой").click()
        expect(page.locator("#client-discount")).to_have_text("20 %")  # the promo period is over

        page.goto("/manage/dashboard")
        page.get_by_role("button", name="Вернуться в настоящее").click()
        expect(page.locator(".demo-banner")).not_to_contain_text("(машина времени)")
    finally:
        context.close()


def test_the_ladder_to_100_percent_by_clicking(browser: Any, demo_server: str) -> None:
    """The demo's story without the CLI: two new clients apply 400's code; 400 reaches 100%."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=demo_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto("/login")
        page.get_by_role("button", name="Войти как 400 «АльфаТелеком»").click()
        code = page.locator("#code-value").get_attribute("data-code")
        assert code
        expect(page.locator("#discount")).to_have_text("60 %")
        page.get_by_role("button", name="Выйти").click()
        for client in ("409 «НовыйОфис»", "410 «СвязьПлюс»"):
            page.goto("/login")
            page.get_by_role("button", name=f"Войти как {client}").click()
            page.get_by_label("Код приглашения").fill(code)
            page.get_by_role("button", name="Применить").click()
            expect(page.get_by_text("Код применен")).to_be_visible()
            page.get_by_role("button", name="Выйти").click()
        page.goto("/login")
        page.get_by_role("button", name="Войти как 400 «АльфаТелеком»").click()
        expect(page.locator("#discount")).to_have_text("100 %")
        expect(page.locator("#invited")).to_contain_text("5")
        expect(page.locator("#invited")).to_contain_text("пакет из 3 200 SMS")
    finally:
        context.close()
