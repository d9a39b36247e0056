"""What a person clicks, in Chromium: sign in, join, apply codes, tabs, copy, screenshots."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from cabinet.clock import SettableClock
from tests.conftest import msk, output_dir
from tests.web.conftest import PASSWORD, referrer_with_referees, web_client

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


def sign_in(page: Page, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Реферальная программа")).to_be_visible()


def test_sign_in_and_join_without_a_code(app: Flask, new_page: Any) -> None:
    page = new_page()
    sign_in(page, web_client(app, 409, "НовыйОфис"))
    expect(page.get_by_role("heading", name="Вступить в программу")).to_be_visible()
    page.get_by_role("button", name="У меня нет кода").click()
    expect(page.get_by_text("Вы участвуете в программе.")).to_be_visible()
    expect(page.get_by_role("heading", name="Как получить скидку")).to_be_visible()
    expect(page.locator("#welcome")).to_contain_text("вы получите скидку 20 % на 3 месяца")
    expect(page.locator("#code-value")).to_have_attribute("data-code", re.compile(r"^[0-9a-f]{9}$"))


def test_apply_an_invalid_then_a_valid_code(
    app: Flask, new_page: Any, clock: SettableClock
) -> None:
    _, code = referrer_with_referees(app, referees=0)
    page = new_page()
    sign_in(page, web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-20 09:00")))
    field = page.get_by_label("Код приглашения")
    field.fill("abcdefabc")
    page.get_by_role("button", name="Применить").click()
    error = page.locator("#code-error")
    expect(error).to_have_text("Такого кода приглашения нет. Проверьте код и попробуйте еще раз.")
    field = page.get_by_label("Код приглашения")
    expect(field).to_have_value("abcdefabc")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-describedby", "code-error")
    field.fill(f"{code[:4].upper()}-{code[4:]}")
    page.get_by_role("button", name="Применить").click()
    expect(page.get_by_text("Код применен")).to_be_visible()
    expect(page.locator("#discount")).to_have_text("20 %")
    history = page.get_by_role("tabpanel")
    expect(history).to_contain_text("31.03.2023 12:00")
    expect(history).to_contain_text("29.06.2023 12:00")
    assert page.url.endswith("/referral")


def test_discount_and_history_change_as_time_goes(
    app: Flask, new_page: Any, clock: SettableClock
) -> None:
    email, _ = referrer_with_referees(app)
    clock.set(msk("2023-04-01 12:00"))
    page = new_page()
    sign_in(page, email)
    expect(page.locator("#discount")).to_have_text("60 %")
    expect(page.locator("#invited")).to_contain_text("3")
    expect(page.locator("#invited")).to_contain_text("пакет из 1 200 SMS")
    clock.set(msk("2024-03-30 15:18"))  # the 60% grant has just ended
    sign_in(page, email)  # a year later: the session ended long ago
    expect(page.locator("#discount")).to_have_text("0 %")


def test_tabs_by_mouse_keyboard_history_and_deep_link(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app)
    page = new_page()
    sign_in(page, email)
    history_tab = page.get_by_role("tab", name="История скидок")
    clients_tab = page.get_by_role("tab", name="Приведенные клиенты")
    expect(history_tab).to_have_attribute("aria-selected", "true")

    clients_tab.click()
    expect(page).to_have_url(re.compile(r"/referral\?tab=clients$"))
    expect(page.get_by_role("tab", name="Приведенные клиенты")).to_have_attribute(
        "aria-selected", "true"
    )
    panel = page.get_by_role("tabpanel")
    expect(panel.get_by_role("row")).to_have_count(4)  # header + 3 clients
    expect(panel).to_contain_text("ТехСтрой")

    page.go_back()
    expect(page.get_by_role("tab", name="История скидок")).to_have_attribute(
        "aria-selected", "true"
    )
    page.go_forward()
    expect(page.get_by_role("tab", name="Приведенные клиенты")).to_have_attribute(
        "aria-selected", "true"
    )

    def tab(name: str) -> Any:
        return page.get_by_role("tab", name=name)

    tab("Приведенные клиенты").focus()
    page.keyboard.press("ArrowLeft")
    expect(tab("История скидок")).to_have_attribute("aria-selected", "true")
    expect(tab("История скидок")).to_be_focused()
    page.keyboard.press("ArrowLeft")  # wraps to the last tab
    expect(tab("Приглашения")).to_have_attribute("aria-selected", "true")
    expect(tab("Приглашения")).to_be_focused()
    page.keyboard.press("Home")
    expect(tab("История скидок")).to_be_focused()
    expect(tab("История скидок")).to_have_attribute("aria-selected", "true")

    deep = new_page()
    sign_in(deep, email)
    deep.goto("/referral?tab=clients")
    expect(deep.get_by_role("tab", name="Приведенные клиенты")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(deep.get_by_role("tabpanel")).to_contain_text("СтройКомплект")


def test_copy_the_code_and_read_the_clipboard(app: Flask, new_page: Any) -> None:
    email, code = referrer_with_referees(app, referees=1)
    page = new_page()
    sign_in(page, email)
    page.get_by_role("button", name="Копировать").click()
    expect(page.locator("#copy-status")).to_have_text("Скопировано")
    assert page.evaluate("navigator.clipboard.readText()") == code


def test_the_core_flow_works_without_javascript(app: Flask, new_page: Any) -> None:
    _, code = referrer_with_referees(app, referees=0)
    page = new_page(javascript=False)
    sign_in(page, web_client(app, 409, registered_at=msk("2023-03-20 09:00")))
    page.get_by_label("Код приглашения").fill("zz")
    page.get_by_role("button", name="Применить").click()
    expect(page.locator("#code-error")).to_contain_text("9 символов")
    page.get_by_label("Код приглашения").fill(code)
    page.get_by_role("button", name="Применить").click()
    expect(page.locator("#discount")).to_have_text("20 %")
    page.get_by_role("tab", name="Приведенные клиенты").click()
    expect(page).to_have_url(re.compile(r"tab=clients"))
    expect(page.get_by_role("tabpanel")).to_contain_text("Приведенных клиентов пока нет")


@pytest.mark.parametrize(("name", "viewport"), [("phone-375", PHONE), ("desktop", DESKTOP)])
def test_screenshots(
    app: Flask, new_page: Any, clock: SettableClock, name: str, viewport: dict[str, int]
) -> None:
    email, _ = referrer_with_referees(app)
    clock.set(msk("2023-04-01 12:00"))
    page = new_page(viewport)
    sign_in(page, email)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], "the page scrolls sideways"
    path = output_dir() / f"referral-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
