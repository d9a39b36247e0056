"""An action's outcome appears where the person is looking, on a 375 × 667 phone: «Пригласить»
answers inside the dialog (and announces it); a limit's refusal shows inside the open dialog,
with no stale field errors beside it; a flash («Код применен…») goes on the next action."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect

from cabinet.clock import SettableClock
from cabinet.texts import WORD_JOINER
from tests.browser.conftest import serving
from tests.browser.test_referral_page_in_chromium import sign_in
from tests.conftest import msk
from tests.web.conftest import PASSWORD, referrer_with_referees, web_client

PHONE = {"width": 375, "height": 667}


def assert_in_view(page: Page, target: Locator) -> None:
    """The element's whole box is inside the viewport (to the pixel: boxes have fractions):
    the person sees it without scrolling."""
    expect(target).to_be_visible()
    box = target.bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] >= -1 and box["y"] + box["height"] <= viewport["height"] + 1, (box, viewport)
    assert box["x"] >= -1 and box["x"] + box["width"] <= viewport["width"] + 1, (box, viewport)


def _open_dialog(page: Page) -> Locator:
    page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    expect(dialog).to_be_visible()
    return dialog


def test_the_invitation_sent_is_said_inside_the_dialog(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=0)
    page = new_page(PHONE)
    sign_in(page, email)
    dialog = _open_dialog(page)
    dialog.get_by_label("Номер телефона получателя").fill("8 910 123 45 67")
    dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
    with page.expect_response(lambda r: r.request.method == "POST"):
        dialog.get_by_role("button", name="Пригласить").click()
    outcome = dialog.get_by_role("status").filter(has_text="Приглашение отправлено")
    expect(outcome).to_have_text("Приглашение отправлено на +7 910 123-45-67")
    expect(outcome).to_have_attribute("aria-live", "polite")
    assert_in_view(page, outcome)
    # the tabs behind refreshed themselves; «Готово» closes the dialog onto them
    expect(page.get_by_role("tab", name="Приглашения")).to_have_attribute("aria-selected", "true")
    dialog.get_by_role("button", name="Готово").click()
    expect(page.locator("dialog")).to_have_count(0)
    expect(page.get_by_role("tabpanel")).to_contain_text("+7 910 123-45-67")


def test_a_limit_refusal_shows_in_the_open_dialog_without_stale_errors(
    app: Flask, make_app: Callable[..., Flask], new_page: Any
) -> None:
    limited = make_app(
        INVITE_MEMBER_RATE_LIMIT="1 per hour",
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        CABINET_TIMEZONE="Europe/Moscow",
    )
    email, _ = referrer_with_referees(app, referees=0)
    with serving(limited) as url:
        page = new_page(PHONE)
        page.goto(url + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page.get_by_role("heading", name="Реферальная программа")).to_be_visible()
        dialog = _open_dialog(page)
        with page.expect_response(lambda r: r.request.method == "POST"):
            dialog.get_by_role("button", name="Пригласить").click()  # empty: the field errors
        expect(dialog.locator(".field__error")).to_have_count(2)
        dialog.get_by_label("Номер телефона получателя").fill("8 910 123 45 67")
        dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
        with page.expect_response(lambda r: r.status == 429):
            dialog.get_by_role("button", name="Пригласить").click()  # over the limit
        refusal = dialog.get_by_role("alert").filter(has_text="Попробуйте снова через")
        expect(refusal).to_contain_text("Слишком много попыток подряд")
        assert_in_view(page, refusal)
        expect(dialog.locator(".field__error")).to_have_count(0)  # no «Заполните поле» left
        expect(dialog.locator("[aria-invalid=true]")).to_have_count(0)
        expect(page.locator("#alerts")).to_be_empty()  # nothing behind the dialog


def test_a_flash_goes_on_the_next_action(app: Flask, new_page: Any, clock: SettableClock) -> None:
    _, code = referrer_with_referees(app, referees=0)
    page = new_page(PHONE)
    sign_in(page, web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-20 09:00")))
    page.get_by_label("Код приглашения").fill(code)
    page.get_by_role("button", name="Применить").click()
    flash = page.get_by_text("Код применен")
    expect(flash).to_be_visible()
    assert_in_view(page, flash)
    with page.expect_response(lambda r: "tab=clients" in r.url):
        page.get_by_role("tab", name="Приведенные клиенты").click()
    expect(page.get_by_text("Код применен")).to_have_count(0)


@pytest.mark.parametrize("height", [667, 740, 812, 844])
def test_a_wrong_code_is_said_beside_the_field_on_a_phone(
    app: Flask, new_page: Any, height: int
) -> None:
    """The apply form is low on a newcomer's page: the field keeps the focus, and its message
    shows with it on phones of every height, not under the fold below «Применить»."""
    referrer_with_referees(app, referees=0)
    page = new_page({"width": 375, "height": height})
    sign_in(page, web_client(app, 409, "НовыйОфис", registered_at=msk("2023-03-20 09:00")))
    page.get_by_label("Код приглашения").fill("zzzzzzzzz")
    with page.expect_response(lambda r: r.url.endswith("/referral/apply")):
        page.get_by_role("button", name="Применить").click()
    error = page.locator("#code-error")
    expect(error).to_have_text(
        f"Код приглашения состоит из 9 символов: цифр 0–{WORD_JOINER}9 и латинских букв "
        f"a–{WORD_JOINER}f."
    )
    # A range is read whole: never «цифр 0–» at the end of a line and «9» on the next.
    assert _lines_under(error, "0–", "9") == 1
    assert _lines_under(error, "a–", "f") == 1
    field = page.get_by_label("Код приглашения")
    expect(field).to_be_focused()
    assert_in_view(page, error)
    assert_in_view(page, field)


def _lines_under(element: Any, start: str, end: str) -> int:
    """How many lines the range `start`…`end` of `element`'s text spans (a word joiner, if
    any, between them)."""
    lines: int = element.evaluate(
        """(el, [start, end]) => {
            const node = document.createTreeWalker(el, NodeFilter.SHOW_TEXT).nextNode();
            const text = node.textContent;
            const at = text.indexOf(start);
            const to = text.indexOf(end, at + start.length) + end.length;
            const range = document.createRange();
            range.setStart(node, at);
            range.setEnd(node, to);
            return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        }""",
        [start, end],
    )
    return lines
