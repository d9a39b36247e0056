"""Playwright for Python driving Debian's Chromium against a live server the tests start."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from cabinet.demo.seed import seed
from tests.browser.checks import ConsoleLog
from tests.servers import serving
from tests.support import response_guard
from tests.web.conftest import outside_requests

__all__ = ["serving"]  # tests import the live server helper from here too

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# The machine running the suite may be shared and busy: expectations wait as long as actions.
expect.set_options(timeout=10_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser" in str(item.path):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        message = f"Chromium не найден ({CHROMIUM}): браузерные тесты ПРОПУЩЕНЫ"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " — в CI они обязательны")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser: Any, live_server: str, database: None) -> Iterator[Any]:
    """Pages in contexts of their own. Whatever a test does with them, it fails if a page
    printed an error to the console (a CSP refusal, an uncaught exception; during an htmx
    request too) or if the page it ends on shows what the response guard forbids."""
    contexts: list[Any] = []
    pages: list[tuple[Page, ConsoleLog]] = []

    def open_page(viewport: dict[str, int] | None = None, javascript: bool = True) -> Page:
        context = browser.new_context(
            viewport=viewport or {"width": 1280, "height": 900},
            base_url=live_server,
            java_script_enabled=javascript,
            locale="ru-RU",
        )
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
        contexts.append(context)
        page: Page = context.new_page()
        page.set_default_timeout(10_000)
        log = ConsoleLog()
        log.watch(page)
        pages.append((page, log))
        return page

    yield open_page
    problems: list[str] = []
    for page, log in pages:
        problems.extend(f"{page.url}, console: {error}" for error in log.errors)
        if not page.is_closed() and javascript_ran(page):
            try:
                response_guard.check(page.content(), page.url)
            except AssertionError as hit:
                problems.append(str(hit))
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


def javascript_ran(page: Page) -> bool:
    """The page is a document of ours (not about:blank, not a download)."""
    return page.url.startswith("http")


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[str]:
    with serving(app) as url:
        yield url


SMS_OPTIONS_URL = "https://operator.example/sms-options"


@pytest.fixture
def demo_server(make_app: Callable[..., Flask], database: None) -> Iterator[str]:
    """The demo cabinet (DEMO_MODE, the time machine's clock, the demo data) on the test
    database, as `make run` serves it."""
    demo = make_app(DEMO_MODE=True, SMS_OPTIONS_URL=SMS_OPTIONS_URL)
    with outside_requests(demo):
        seed(demo.extensions["context"])
    with serving(demo) as url:
        yield url
