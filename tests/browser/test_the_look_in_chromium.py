"""The client's page looks like the operator's product at 1280, 375 and 320 px: a new member
reads the offer and the next step (not a bare «0 %»); on phones the tabs are one row that
scrolls sideways and «Таблица скидок» a compact table; the SMS notice is said once; the client's
cabinet has no one-item menu; and the phone page is far shorter than the 3 300 px it was."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from cabinet.clock import SettableClock
from tests.browser.test_referral_page_in_chromium import sign_in
from tests.browser.test_where_the_eyes_are_in_chromium import assert_in_view
from tests.conftest import msk
from tests.web.conftest import referrer_with_referees, web_client

WIDTHS = [1280, 375, 320]
# The referrer of the help page's worked example at 320 px: 3 298 px before the compact ladder,
# the one-row tabs and the tighter summary and history (2 313 px after); the card «Уведомления»
# (the switch of the notice «Клиент … применил ваш код») adds about 300 px (2 607 px).
MAX_HEIGHT_AT_320 = 2700


def _visible_count(page: Page, text: str) -> int:
    count: int = page.evaluate("t => document.body.innerText.split(t).length - 1", text)
    return count


@pytest.mark.parametrize("width", WIDTHS)
def test_a_referrer_at_each_width(
    app: Flask, new_page: Any, clock: SettableClock, width: int
) -> None:
    email, _ = referrer_with_referees(app)
    clock.set(msk("2023-04-01 12:00"))
    page = new_page({"width": width, "height": 800})
    sign_in(page, email)
    expect(page.locator("#discount")).to_have_text("60 %")
    assert _visible_count(page, "кроме пакетов SMS") == 1  # the notice, once
    expect(page.get_by_role("navigation", name="Меню кабинета")).to_have_count(0)
    # the tabs: one row (on a phone it scrolls sideways), every tab reachable
    tabs = page.get_by_role("tab").all()
    assert len({round(tab.bounding_box()["y"]) for tab in tabs}) == 1  # type: ignore[index]
    tabs[-1].scroll_into_view_if_needed()
    assert_in_view(page, tabs[-1])
    # «Таблица скидок»: a table of five short rows at every width, not five stacked cards
    rows = page.locator(".table--ladder tbody tr").all()
    assert len(rows) == 5
    for row in rows:
        assert row.bounding_box()["height"] < 80, row.inner_text()  # type: ignore[index]
    expect(page.locator(".table--ladder thead")).to_be_visible()
    height = page.evaluate("document.documentElement.scrollHeight")
    if width == 320:
        assert height <= MAX_HEIGHT_AT_320, height


@pytest.mark.parametrize("width", WIDTHS)
def test_a_new_member_reads_the_offer_first(app: Flask, new_page: Any, width: int) -> None:
    page = new_page({"width": width, "height": 667})
    sign_in(page, web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-20 09:00")))
    with page.expect_response(lambda r: r.url.endswith("/referral/join")):
        page.get_by_role("button", name="У меня нет кода").click()
    welcome = page.locator("#welcome")
    expect(welcome.get_by_role("heading", name="Как получить скидку")).to_be_visible()
    expect(welcome).to_contain_text(
        "Пригласите друга: когда он применит ваш код, вы получите скидку 20 % на 3 месяца."
    )
    expect(welcome).to_contain_text("Нажмите «Пригласить»")
    expect(page.locator("#discount")).to_have_count(0)  # no bare «0 %»
    welcome.get_by_role("heading").scroll_into_view_if_needed()
    assert_in_view(page, welcome.get_by_role("heading"))
