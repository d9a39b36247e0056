"""Record the browsing mix `make bench` replays: what Chromium sends while a member uses the page.

    python -m bench.record [--output bench/mix.tsv]

A fresh SQLite database with the demo data, the cabinet under gunicorn, Chromium (Playwright)
signed in as the demo's client 400 (info@alfatelecom.ru): the page, the tabs back and forth, the
share dialog and its channel switch, an invitation sent so that «Приглашения» polls every 3 s
(five polls), a reload, the tabs again. Every request the page makes to the cabinet after the
sign-in is written, in order, one a line:

    METHOD <TAB> path <TAB> htmx headers ("Name: value" joined by \\x1f) <TAB> revalidates

`revalidates` is 1 when Chromium sent `If-None-Match` (its HTTP cache held the answer). Static
files are left out (hashed names, cached for a year: a browser fetches them once a release), and
so are the POSTs (the benchmark measures writes on their own). bench/run.py replays the file
with the benchmark's own session, and its own ETags where Chromium revalidated.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Request, expect, sync_playwright

from bench.run import BIN, ROOT, SECRET, say, server

EMAIL, PASSWORD = "info@alfatelecom.ru", "demo12345"  # the demo's client 400 (README)
KEPT_HEADERS = ("HX-Request", "HX-Target", "HX-Trigger", "HX-History-Restore-Request")
POLLS = 5


def main() -> int:
    parser = argparse.ArgumentParser(description="record the browsing mix")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "mix.tsv")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cabinet-record-") as scratch:
        work = Path(scratch)
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{work / 'record.sqlite3'}",
            "SECRET_KEY": SECRET,
            "CABINET_ENV": "development",  # plain http on 127.0.0.1: cookies without Secure
            "DEMO_MODE": "0",
            "RATELIMIT_STORAGE_URI": "memory://",
            "STATIC_BUILD_DIR": str(work / "static"),
        }
        for command in (["db", "upgrade"], ["demo", "seed"]):
            subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=env, check=True)
        with server("wsgi:app", env, work / "cabinet.log") as base:
            lines = record(base, args.chromium)
    args.output.write_text(
        "# bench/record.py: Chromium browsing the referral page (method, path, htmx headers, "
        "revalidates)\n" + "\n".join(lines) + "\n",
        encoding="utf-8",
    )
    say(f"{len(lines)} requests written to {args.output}")
    return 0


def record(base: str, chromium: str) -> list[str]:
    lines: list[str] = []
    recording = False

    def seen(request: Request) -> None:
        path = urlsplit(request.url)
        if not recording or not request.url.startswith(base) or path.path.startswith("/static/"):
            return
        if request.method != "GET":
            return
        headers = request.all_headers()
        kept = "\x1f".join(
            f"{name}: {headers[name.lower()]}" for name in KEPT_HEADERS if name.lower() in headers
        )
        target = path.path + (f"?{path.query}" if path.query else "")
        lines.append(f"GET\t{target}\t{kept}\t{int('if-none-match' in headers)}")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(base_url=base, locale="ru-RU")
        page.goto("/login")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        expect(page.get_by_role("heading", name="Реферальная программа")).to_be_visible()
        page.on("requestfinished", seen)
        recording = True
        page.goto("/referral")
        for tab in ("Приведенные клиенты", "Приглашения", "История скидок", "Приведенные клиенты"):
            _tab(page, tab)
        page.get_by_role("button", name="Пригласить").click()
        dialog = page.get_by_role("dialog", name="Поделиться кодом")
        expect(dialog).to_be_visible()
        with page.expect_response(lambda r: "part=form" in r.url):
            dialog.get_by_role("tab", name="Отправить email").click()
        dialog.get_by_label("Email получателя").fill("friend@example.ru")
        dialog.get_by_label("Друг согласен получить сообщение с приглашением").check()
        dialog.get_by_role("button", name="Пригласить").click()
        expect(dialog.get_by_text("Приглашение отправлено на")).to_be_visible()
        dialog.get_by_role("button", name="Готово").click()
        for _ in range(POLLS):  # the message waits: «Приглашения» refreshes itself
            with page.expect_response(lambda r: r.url.endswith("?tab=invitations")):
                pass
        _tab(page, "История скидок")
        page.reload()
        expect(page.get_by_role("heading", name="Реферальная программа")).to_be_visible()
        for tab in ("Приведенные клиенты", "История скидок"):
            _tab(page, tab)
        page.get_by_role("button", name="Пригласить").click()
        expect(page.get_by_role("dialog", name="Поделиться кодом")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.locator("dialog")).to_have_count(0)
        recording = False
        browser.close()
    return lines


def _tab(page: object, name: str) -> None:
    from playwright.sync_api import Page

    assert isinstance(page, Page)  # noqa: S101 - a recording script, not the product
    with page.expect_response(lambda r: "tab=" in r.url or r.url.endswith("/referral")):
        page.get_by_role("tab", name=name).click()
    expect(page.get_by_role("tab", name=name)).to_have_attribute("aria-selected", "true")


if __name__ == "__main__":
    raise SystemExit(main())
