"""The switch «Сообщать мне по e-mail, когда друг применит мой код» in Chromium (htmx)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.browser.test_referral_page_in_chromium import sign_in
from tests.web.conftest import referrer_with_referees


def test_the_switch_saves_in_place_and_stays_after_a_reload(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=0)
    page = new_page()
    sign_in(page, email)
    box = page.get_by_label("Сообщать мне по e-mail, когда друг применит мой код")
    expect(box).to_be_checked()
    box.uncheck()
    with page.expect_response(lambda r: r.url.endswith("/referral/notice")):
        page.get_by_role("button", name="Сохранить").click()
    section = page.locator("#applied-notice")
    expect(section.get_by_role("status")).to_have_text(
        "Сохранено: письма о примененном коде приходить не будут."
    )
    page.reload()
    expect(
        page.get_by_label("Сообщать мне по e-mail, когда друг применит мой код")
    ).not_to_be_checked()
