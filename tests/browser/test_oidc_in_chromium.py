"""«Войти» through the operator's identity provider, in Chromium: the provider's own login
form (a real provider, tests/oidc/provider.mjs), back to /referral, and «Выйти» through the
provider's sign-out page back to the cabinet's login page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.checks import ConsoleLog, HtmlChecker, PageChecks
from tests.browser.checks import html_checker as html_checker  # noqa: F401 - the fixture
from tests.conftest import FAST_PASSWORD_HASHING
from tests.oidc.provider import Provider, running_provider
from tests.servers import serving
from tests.web.conftest import web_client


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def cabinet(
    make_app: Callable[..., Flask], provider: Provider, database: None
) -> Iterator[tuple[str, Flask]]:
    """A cabinet signing in through the provider, on a free port (its address, which the
    provider must know, is known only once the port is bound)."""
    made: dict[str, Flask] = {}

    def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
        return made["app"](environ, start_response)

    with serving(wsgi) as url:  # type: ignore[arg-type]
        made["app"] = make_app(
            TESTING=True, PASSWORD_HASH_METHOD=FAST_PASSWORD_HASHING, **provider.settings(url)
        )
        yield url, made["app"]


def test_sign_in_and_out_through_the_provider(
    browser: Any, cabinet: tuple[str, Flask], provider: Provider
) -> None:
    url, app = cabinet
    web_client(app, 407, "ТехСтрой")
    context = browser.new_context(base_url=url, locale="ru-RU")
    page: Page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and page.url.startswith(url):
            errors.append(message.text)  # a CSP refusal of the sign-out form would be one

    page.on("console", console)
    try:
        page.goto("/referral")
        expect(page.get_by_text("Войдите в личный кабинет, чтобы продолжить.")).to_be_visible()
        page.get_by_role("link", name="Войти", exact=True).click()

        # The provider's own login form.
        page.wait_for_url(provider.issuer + "/interaction/**")
        page.locator("input[name=login]").fill("client:407")
        page.locator("input[name=password]").fill("любой")
        page.get_by_role("button", name="Sign-in").click()

        page.wait_for_url(url + "/referral")
        expect(page.get_by_role("heading", name="Реферальная программа")).to_be_visible()
        expect(page.locator(".account__name")).to_have_text("ТехСтрой")
        expect(page.locator(".account__id")).to_have_text("ID 407")

        page.get_by_role("button", name="Выйти").click()
        page.wait_for_url(provider.issuer + "/session/end**")
        page.get_by_role("button", name="Yes, sign me out").click()
        page.wait_for_url(url + "/login")
        expect(page.get_by_text("Вы вышли из личного кабинета.")).to_be_visible()
        page.goto("/referral")
        expect(page.get_by_text("Войдите в личный кабинет, чтобы продолжить.")).to_be_visible()
        assert errors == []
    finally:
        context.close()


def sign_in_at_provider(page: Page, provider: Provider, login: str) -> None:
    page.wait_for_url(provider.issuer + "/interaction/**")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill("любой")
    page.get_by_role("button", name="Sign-in").click()


@pytest.mark.parametrize("width", [1280, 320], ids=lambda width: f"{width}px")
def test_the_sign_in_pages_pass_the_page_checks(
    browser: Any,
    cabinet: tuple[str, Flask],
    provider: Provider,
    html_checker: HtmlChecker,  # noqa: F811 - the fixture imported above
    width: int,
) -> None:
    """The login page with «Войти» through the provider, and the pages that refuse: axe-core,
    the Nu Html Checker, the width, the console (the cabinet's pages only: the provider's
    development pages are not ours)."""
    url, _ = cabinet
    context = browser.new_context(
        base_url=url, locale="ru-RU", viewport={"width": width, "height": 800}
    )
    page: Page = context.new_page()
    page.set_default_timeout(10_000)
    log = ConsoleLog()

    def console(message: ConsoleMessage) -> None:
        if message.type == "error" and message.location.get("url", "").startswith(url):
            if "the server responded with a status of 4" not in message.text:
                log.errors.append(message.text)

    page.on("console", console)
    check = PageChecks(html_checker, log)
    try:
        page.goto("/login")
        expect(page.get_by_role("link", name="Войти", exact=True)).to_be_visible()
        check(page, "/login with OpenID Connect")
        page.goto("/manage/login")
        check(page, "/manage/login with OpenID Connect")

        page.goto("/login")
        page.get_by_role("link", name="Войти", exact=True).click()
        sign_in_at_provider(page, provider, "somebody-else")
        page.wait_for_url(url + "/login/oidc/callback**")
        expect(page.get_by_role("heading", name="Вход невозможен")).to_be_visible()
        expect(page.get_by_text("не связана ни с одним договором")).to_be_visible()
        check(page, "no client for the account")

        page.get_by_role("link", name="К странице входа").click()
        page.get_by_role("link", name="Войти", exact=True).click()
        # Still signed in at the provider: no form there, straight back and refused again.
        page.wait_for_url(url + "/login/oidc/callback**")
        expect(page.get_by_text("не связана ни с одним договором")).to_be_visible()

        page.goto(url + "/login/oidc/callback?code=forged&state=forged")
        expect(page.get_by_role("heading", name="Вход не удался")).to_be_visible()
        check(page, "a failed check")
    finally:
        context.close()
