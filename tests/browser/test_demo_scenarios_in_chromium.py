"""The product manager's demo, as a product manager clicks it: signed in once, as the manager;
each story from its «Начать» on «Сценарии», the client side through «Открыть как клиент»; the
whole demo twice under the help page's terms, with «Сбросить демо» between, and once under
seven levels (SMS packs at 3, 5 and 7) with the season story's campaign over them. Every «Что
смотреть» is asserted on the page its step leads to, in the numbers of the terms in force; a
page a step opens leads back to its card. Clicks are counted: every story in ten or fewer, and
no URL is typed after the sign-in page.

Every step is a plain form post that lands on a new page: each click is followed by a check of
something only the new page has, so the next click never hits the old page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from cabinet.auth.models import Manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.demo.seed import DEMO_MANAGER_EMAIL, DEMO_PASSWORD, seed
from cabinet.demo.stories import CAMPAIGN_TITLE, campaign_terms
from cabinet.demo.time_machine import move_clock
from cabinet.demo.words import rule_words
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referrals.rules import HELP_PAGE_TERMS, TermsNumbers
from cabinet.texts import percent
from tests.browser.conftest import SMS_OPTIONS_URL, serving
from tests.conftest import output_dir
from tests.support.terms_forms import SEVEN_LEVELS
from tests.web.conftest import outside_requests

MAX_CLICKS = 10


class Clicks:
    """Counts the product manager's clicks."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, target: Locator) -> None:
        target.click()
        self.count += 1


def _card(page: Page, story: str) -> Locator:
    return page.locator(f"#story-{story}")


def _step(page: Page, story: str, index: int) -> Locator:
    return page.locator(f"#story-{story}-step-{index}")


def _start(page: Page, click: Clicks, story: str) -> None:
    click(_card(page, story).locator(".scenario__head button"))
    expect(_step(page, story, 0).locator("form button")).to_be_visible()
    expect(_card(page, story).locator(".scenario__head button")).to_have_text("Начать заново")


def _do(page: Page, click: Clicks, story: str, index: int) -> None:
    """A step that comes back to «Сценарии», marked done."""
    click(_step(page, story, index).locator("form button"))
    expect(_step(page, story, index).locator(".scenario__done")).to_be_visible()


def _open(page: Page, click: Clicks, story: str, index: int) -> None:
    """«Открыть как клиент»: the client's cabinet, with the banner."""
    click(_step(page, story, index).locator("form button"))
    expect(page.locator("#acting-banner")).to_contain_text("Вы в кабинете клиента")
    expect(page.get_by_role("heading", name="Реферальная программа", exact=True)).to_be_visible()


def _back(page: Page, click: Clicks) -> None:
    click(page.locator("#acting-banner").get_by_role("button", name="Вернуться в панель"))
    expect(page.get_by_role("heading", name="Сценарии", exact=True)).to_be_visible()
    expect(page.locator("#acting-banner")).to_have_count(0)


def _now(page: Page, story: str) -> Locator:
    return page.locator(f"#story-{story}-now")


def _told(page: Page, story: str, index: int) -> Locator:
    """The step's outcome, announced on its card beside the step."""
    return _step(page, story, index).locator("[role=status]")


def _way_back(page: Page, click: Clicks, story: str, index: int) -> None:
    """«К сценарию …»: from the page a step opened back to the step on its card."""
    click(page.locator("#way-back"))
    expect(page.get_by_role("heading", name="Сценарии", exact=True)).to_be_visible()
    assert page.url.endswith(f"#story-{story}-step-{index}")


# Each story asserts every «Что смотреть» on the page its step leads to, in the words of the
# terms in force (`w`: cabinet/demo/words.py), so it holds under any terms.
Words = dict[str, str]


def story_promo(page: Page, click: Clicks, w: Words) -> None:
    _start(page, click, "promo")
    _open(page, click, "promo", 0)  # what it will get, after the promo period, until when
    offer = page.locator("#offer")
    expect(offer).to_contain_text(f"Скидка {w['ref_p']}")
    expect(offer).to_contain_text("после окончания промо-периода")
    expect(offer).to_contain_text("Применить код можно до")
    _back(page, click)
    _do(page, click, "promo", 1)  # R has p1; N's discount waits
    expect(_now(page, "promo")).to_contain_text(f"«Вектор»: скидка {w['p1']}")
    expect(_now(page, "promo")).to_contain_text(f"«Гранит»: скидка {w['p0']}, {w['ref_p']} с")
    _open(page, click, "promo", 2)  # «Ваша скидка» 0 % and «… начнет действовать …»
    expect(page.locator("#discount")).to_have_text(w["p0"])
    expect(page.locator("#program")).to_contain_text(f"{w['ref_p']} начнет действовать")
    _back(page, click)
    _do(page, click, "promo", 3)  # +1 месяц: in force
    expect(_now(page, "promo")).to_contain_text(f"«Гранит»: скидка {w['ref_p']}")
    _open(page, click, "promo", 4)
    expect(page.locator("#discount")).to_have_text(w["ref_p"])
    expect(page.locator("#tab-panel")).to_contain_text("действует")
    _back(page, click)


def story_ladder(page: Page, click: Clicks, w: Words) -> None:
    _start(page, click, "ladder")
    referrals = {0: 1, 1: 2, 3: 3, 4: 4, 6: 5}  # step → referrals so far
    for index in range(7):
        _do(page, click, "ladder", index)
        if index in referrals:
            k = referrals[index]
            expect(_now(page, "ladder")).to_contain_text(f"скидка {w[f'p{k}']}")
            if w[f"sms_and{k}"]:
                expect(_now(page, "ladder")).to_contain_text(w[f"sms_and{k}"].removeprefix(" и "))
        else:  # «+1 день»
            expect(_told(page, "ladder", index)).to_contain_text("Время кабинета")
    _open(page, click, "ladder", 7)
    expect(page.locator("#discount")).to_have_text(w["p5"])
    expect(page.locator("#invited")).to_contain_text("5")
    for k in range(1, 6):
        if w[f"sms_and{k}"]:
            expect(page.locator("#invited")).to_contain_text(w[f"sms_and{k}"].removeprefix(" и "))
            expect(
                page.locator("#invited").get_by_role("link", name="Подробнее об SMS опциях")
            ).to_have_attribute("href", SMS_OPTIONS_URL)
    expect(page.locator("#next-step")).to_contain_text("Еще 1 клиент — и скидка")
    # (Whether A's level 1 is a row of its own depends on B's code landing in the same minute:
    # the rule is checked with a fixed clock in tests/web/test_demo_panel.py.)
    expect(page.locator("#tab-panel")).to_contain_text("уровень 5")
    _back(page, click)


def story_window(page: Page, click: Clicks, w: Words) -> None:
    _start(page, click, "window")
    _open(page, click, "window", 0)
    expect(page.locator("#apply-form")).to_be_visible()
    expect(page.locator("#offer")).to_contain_text("Применить код можно до")
    expect(page.locator("#offer")).not_to_contain_text("промо-период")  # it has none
    _back(page, click)
    _do(page, click, "window", 1)  # +1 неделя: the window has closed
    expect(_told(page, "window", 1)).to_contain_text("Время кабинета")
    _open(page, click, "window", 2)
    expect(page.locator("#apply-form")).to_have_count(0)
    expect(page.get_by_role("button", name="Вступить в программу")).to_be_visible()
    expect(page.locator("#program")).to_contain_text("Срок применения кода приглашения истек")
    _back(page, click)
    click(_step(page, "window", 3).locator("form button"))  # refused, beside the step
    told = _told(page, "window", 3)
    expect(told).to_contain_text("Отказ")
    expect(told).to_contain_text("Срок применения кода")
    expect(told).to_be_in_viewport()
    expect(page.locator(".messages")).to_have_count(0)  # not at the top of the page


def story_expiry(page: Page, click: Clicks, w: Words) -> None:
    _start(page, click, "expiry")
    _do(page, click, "expiry", 0)
    expect(_now(page, "expiry")).to_contain_text(f"скидка {w['p1']}")
    _do(page, click, "expiry", 1)
    expect(_now(page, "expiry")).to_contain_text(f"скидка {w['p2']}")
    _do(page, click, "expiry", 2)  # the day after the discount ends
    expect(_told(page, "expiry", 2)).to_contain_text("Время кабинета")
    _open(page, click, "expiry", 3)  # 0 %, «завершена», the ladder starts again
    expect(page.locator("#discount")).to_have_text(w["p0"])
    expect(page.locator("#tab-panel")).to_contain_text("завершена")
    expect(page.locator("#next-step")).to_contain_text("лестница начнется заново")
    _back(page, click)
    _do(page, click, "expiry", 4)
    expect(_now(page, "expiry")).to_contain_text(f"скидка {w['p1']}")
    _open(page, click, "expiry", 5)
    expect(page.locator("#discount")).to_have_text(w["p1"])
    expect(page.locator("#tab-panel")).to_contain_text("завершена")
    expect(page.locator("#tab-panel")).to_contain_text("действует")
    expect(page.locator("#tab-panel")).to_contain_text("уровень 1")
    _back(page, click)


def story_fraud(page: Page, click: Clicks, w: Words) -> None:
    _start(page, click, "fraud")
    _do(page, click, "fraud", 0)
    expect(_now(page, "fraud")).to_contain_text(f"скидка {w['p3']}")
    if w["sms_and3"]:
        expect(_now(page, "fraud")).to_contain_text(w["sms_and3"].removeprefix(" и "))
    click(_step(page, "fraud", 1).locator("form button"))  # the client's card in the panel
    signals = page.locator("#signals-title").locator("..")
    expect(signals).to_contain_text("общий почтовый домен")
    expect(signals).to_contain_text("Всплеск: 3 клиента")
    _way_back(page, click, "fraud", 1)
    _do(page, click, "fraud", 2)
    expect(_now(page, "fraud")).to_contain_text(f"скидка {w['p2']}")
    if w["sms_and3"]:
        expect(_now(page, "fraud")).not_to_contain_text(w["sms_and3"].removeprefix(" и "))
    _open(page, click, "fraud", 3)
    expect(page.locator("#discount")).to_have_text(w["p2"])
    expect(page.locator("#invited")).to_contain_text("2")
    expect(page.locator("#tab-panel")).to_contain_text("отменена")
    _back(page, click)


def story_season(page: Page, click: Clicks, w: Words) -> None:
    _start(page, click, "season")
    card = _card(page, "season")
    expect(card.locator("h2")).to_contain_text(f"Сезонная акция: {w['cp1']} за первого друга")
    _do(page, click, "season", 0)
    expect(_told(page, "season", 0)).to_contain_text("Акция опубликована")
    click(_step(page, "season", 1).locator("form button"))
    expect(page.get_by_role("heading", name="Условия программы", exact=True)).to_be_visible()
    expect(page.locator("#terms-upcoming")).to_contain_text(CAMPAIGN_TITLE)
    expect(page.locator("#terms-upcoming")).to_contain_text("предстоит")
    _way_back(page, click, "season", 1)
    _do(page, click, "season", 2)
    _do(page, click, "season", 3)
    expect(_now(page, "season")).to_contain_text(f"«Орион»: скидка {w['cp1']}")
    _do(page, click, "season", 4)
    expect(_now(page, "season")).to_contain_text(f"«Орион»: скидка {w['cp1']}")
    _do(page, click, "season", 5)
    expect(_now(page, "season")).to_contain_text(f"«Сигма»: скидка {w['p1']}")
    _open(page, click, "season", 6)
    expect(page.locator("#discount")).to_have_text(w["cp1"])
    ladder = page.get_by_role("table").filter(has_text="Количество приведенных клиентов")
    expect(ladder.locator("tbody tr").first.locator("td").nth(1)).to_have_text(w["p1"])
    _back(page, click)


STORIES = {
    "promo": story_promo,
    "ladder": story_ladder,
    "window": story_window,
    "expiry": story_expiry,
    "fraud": story_fraud,
    "season": story_season,
}


def words_for(terms: TermsNumbers) -> Words:
    """The words every story is told in under `terms`, with the campaign story's level 1."""
    campaign = campaign_terms(terms).ladder[0].percent
    return {**rule_words(terms), "cp1": percent(min(campaign, terms.max_discount_percent))}


def _sign_in(page: Page) -> None:
    page.goto("/manage/login")  # the one address typed: the panel's sign-in
    page.get_by_label("Email").fill(DEMO_MANAGER_EMAIL)
    page.get_by_label("Пароль").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_role("heading", name="Обзор программы")).to_be_visible()
    page.get_by_role("link", name="Сценарии").click()
    expect(page.get_by_role("heading", name="Сценарии", exact=True)).to_be_visible()


def _play(page: Page, words: Words) -> dict[str, int]:
    """Every story, top to bottom; the clicks each took."""
    measured: dict[str, int] = {}
    for name, story in STORIES.items():
        click = Clicks()
        story(page, click, words)
        measured[name] = click.count
    return measured


def _reset(page: Page) -> None:
    page.locator("#reset-demo summary").click()
    page.get_by_role("button", name="Да, сбросить демо").click()
    expect(page.locator(".message")).to_contain_text("Демо сброшено")
    expect(page.locator(".demo-banner")).not_to_contain_text("машина времени")
    expect(page.locator(".scenario__head button").first).to_have_text("Начать")


def test_the_whole_demo_twice_signed_in_once(browser: Any, demo_server: str) -> None:
    """Under the help page's terms."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=demo_server, locale="ru-RU"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    typed: list[str] = []
    page.on(
        "framenavigated",
        lambda frame: typed.append(frame.url) if frame == page.main_frame else None,
    )
    try:
        _sign_in(page)
        counts: list[dict[str, int]] = []
        for round_ in (1, 2):
            counts.append(_play(page, words_for(HELP_PAGE_TERMS)))
            if round_ == 1:
                page.screenshot(path=str(output_dir() / "manage-scenarios.png"), full_page=True)
            _reset(page)
        print("clicks per story:", counts)  # noqa: T201 - the measurement, for the record
        for measured in counts:
            assert set(measured) == set(STORIES)
            assert all(0 < n <= MAX_CLICKS for n in measured.values()), counts
        assert counts[0] == counts[1]
        # Never signed in again, never sent to a sign-in page.
        assert not [url for url in typed[1:] if "/login" in url], typed
    finally:
        context.close()


@pytest.fixture
def seven_level_demo(make_app: Callable[..., Flask], database: None) -> Iterator[str]:
    """The demo cabinet with seven levels published through the panel's services and in
    force (the time machine a day on)."""
    demo = make_app(DEMO_MODE=True, SMS_OPTIONS_URL=SMS_OPTIONS_URL)
    context: Context = demo.extensions["context"]
    with outside_requests(demo):
        seed(context)
        manager = db.session.scalar(select(Manager.id).where(Manager.email == DEMO_MANAGER_EMAIL))
        assert manager is not None
        zone = context.timezone
        starts = (context.clock.now() + timedelta(minutes=2)).astimezone(zone)
        values = terms_rules.values_of(
            SEVEN_LEVELS,
            "Семь уровней",
            starts.replace(tzinfo=None, second=0, microsecond=0).isoformat(),
            "",
        )
        version = terms_services.save_draft(context, manager, None, values)
        terms_services.publish(context, manager, version, confirmed=True)
        move_clock(context, manager, "day")
    with serving(demo) as url:
        yield url


def test_every_story_under_seven_levels_and_its_campaign(
    browser: Any, seven_level_demo: str
) -> None:
    """Every «Что смотреть» under seven levels with packs at 3, 5 and 7, and the campaign the
    season story publishes over them."""
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, base_url=seven_level_demo, locale="ru-RU"
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        _sign_in(page)
        words = words_for(SEVEN_LEVELS)
        expect(page.locator("#story-ladder h2")).to_contain_text(
            f"Лестница от {words['p0']} до {words['p5']} и пакеты SMS"
        )
        counts = _play(page, words)
        assert all(0 < n <= MAX_CLICKS for n in counts.values()), counts
    finally:
        context.close()
