"""Chromium revalidates the cabinet's htmx requests: the «Приглашения» tab, polling every 3 s
while a message waits, is answered 304 (its ETag, `Cache-Control: private, no-cache`:
cabinet/conditional.py) as long as nothing it shows changed, and 200 when something did."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import Response, expect

from cabinet.clients.models import Client
from cabinet.db import db, transaction
from tests.browser.test_referral_page_in_chromium import referrer_with_referees, sign_in
from tests.web.conftest import outside_requests

POLL = "/referral?tab=invitations"


def test_the_polling_tab_is_revalidated(app: Flask, new_page: Any) -> None:
    email, _ = referrer_with_referees(app, referees=1)
    page = new_page()
    sign_in(page, email)
    page.get_by_role("button", name="Пригласить").click()
    dialog = page.get_by_role("dialog", name="Поделиться кодом")
    dialog.get_by_role("tab", name="Отправить email").click()
    dialog.get_by_label("Email получателя").fill("friend@example.ru")
    dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
    dialog.get_by_role("button", name="Пригласить").click()
    expect(dialog.get_by_text("Приглашение отправлено на")).to_be_visible()
    dialog.get_by_role("button", name="Готово").click()
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("в очереди")  # the message waits: the tab polls

    # What came over the wire (Playwright's response is the one the page got: the kept 200).
    wire: dict[str, int] = {}
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on(
        "Network.responseReceivedExtraInfo",
        lambda event: wire.__setitem__(event["requestId"], event["statusCode"]),
    )
    urls: dict[str, str] = {}
    cdp.on(
        "Network.requestWillBeSent",
        lambda event: urls.__setitem__(event["requestId"], event["request"]["url"]),
    )

    def is_poll(response: Response) -> bool:
        return response.url.endswith(POLL) and response.request.headers.get("hx-request") == "true"

    def polls() -> list[int]:
        """The statuses of the tab's requests as they came over the wire, in order."""
        ids = [i for i, url in urls.items() if url.endswith(POLL) and i in wire]
        return [wire[i] for i in sorted(ids, key=lambda i: float(i.split(".")[-1]))]

    for _ in range(3):
        with page.expect_response(is_poll, timeout=10_000) as polled:
            pass
        assert polled.value.status == 200  # what htmx got: the kept copy
    assert polls().count(304) >= 2, polls()  # the first may still fetch the fragment's variant
    expect(panel).to_contain_text("friend@example.ru")  # the kept copy is what stays shown

    # Something the tab shows changes (a referee's name: its invitation's fate may name it):
    # the stamp changes, the next poll is a full 200, then 304s again.
    seen = len(polls())
    with outside_requests(app), transaction():
        db.session.get(Client, 408).name = "ТехКомплект Плюс"
    for _ in range(4):
        with page.expect_response(is_poll, timeout=10_000):
            pass
    after = polls()[seen:]  # (a poll already on its way at the rename may come first: a 304)
    assert 200 in after, after
    assert 304 in after[after.index(200) + 1 :], after
