"""«Пригласить» in Chromium, by mouse and by keyboard, until the SMS reaches the simulator."""

from __future__ import annotations

import dataclasses
from typing import Any

import requests
from flask import Flask
from playwright.sync_api import expect

from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.settings import GatewayConfig, InvitationSettings
from tests.browser.test_referral_page_in_chromium import referrer_with_referees, sign_in
from tests.conftest import live_program, output_dir
from tests.invitations.conftest import TOKEN, Simulator
from tests.invitations.conftest import simulator as simulator  # noqa: F401 - the fixture
from tests.web.conftest import outside_requests


def test_invite_by_sms_with_the_mouse(app: Flask, new_page: Any, simulator: Simulator) -> None:
    email, code = referrer_with_referees(app, referees=0)
    page = new_page()
    sign_in(page, email)
    page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("tab", name="Отправить SMS")).to_have_attribute(
        "aria-selected", "true"
    )
    phone = dialog.get_by_label("Номер телефона получателя")
    expect(phone).to_be_focused()
    expect(phone).to_have_attribute("placeholder", "+7 910 123-45-67")
    phone.fill("+7 910 12")
    dialog.get_by_role("button", name="Пригласить").click()
    expect(dialog.locator("#recipient-error")).to_contain_text("мобильного телефона")
    expect(dialog.get_by_label("Номер телефона получателя")).to_have_value("+7 910 12")
    dialog.get_by_label("Номер телефона получателя").fill("8 910 123 45 67")
    dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
    dialog.get_by_role("button", name="Пригласить").click()
    expect(dialog.get_by_text("Приглашение отправлено на +7 910 123-45-67")).to_be_visible()
    dialog.get_by_role("button", name="Готово").click()  # the outcome stays until then
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.get_by_role("tab", name="Приглашения")).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("+7 910 123-45-67")
    expect(panel).to_contain_text("в очереди")

    # The worker delivers it; the tab, polling, shows «отправлено» by itself.
    base: InvitationSettings = app.extensions["invitations"]
    settings = dataclasses.replace(base, sms=GatewayConfig(simulator.url + "/sms", TOKEN))
    with requests.Session() as session, outside_requests(app):
        worker = Worker(live_program(app), settings, http_gateways(settings, session))
        assert worker.run_pass().sent == 1
    expect(page.get_by_role("tabpanel")).to_contain_text("отправлено", timeout=10_000)
    (sms,) = simulator.messages()
    assert sms["to"] == "+79101234567" and code in sms["text"]


def test_the_dialog_by_keyboard(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=0)
    page = new_page()
    sign_in(page, email)
    invite = page.get_by_role("button", name="Пригласить")
    invite.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    # Focus stays inside the modal dialog however far one tabs.
    for _ in range(12):
        page.keyboard.press("Tab")
        assert page.evaluate(
            "document.getElementById('share-dialog').contains(document.activeElement)"
        )
    dialog.get_by_role("tab", name="Отправить SMS").focus()
    page.keyboard.press("ArrowLeft")
    expect(dialog.get_by_role("tab", name="Отправить email")).to_have_attribute(
        "aria-selected", "true"
    )
    expect(dialog.get_by_label("Email получателя")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_have_count(0)
    expect(invite).to_be_focused()  # focus returns to «Пригласить»


def test_the_dialog_fits_a_phone(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=0)
    page = new_page({"width": 360, "height": 740})
    sign_in(page, email)
    page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST"):
        dialog.get_by_role("button", name="Пригласить").click()  # empty: both errors at once
    expect(dialog.locator("[aria-invalid=true]")).to_have_count(2)
    box = dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    page.screenshot(path=str(output_dir() / "share-dialog-phone-360.png"))
