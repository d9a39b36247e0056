"""«Сценарии» where the eyes are: a step's outcome on its story's card beside the step
(announced), story texts worded from the terms, a way back to the card from every page a step
opens, and «Сбросить демо» taking back every version of the terms published in demo mode."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.audit.models import AuditEntry
from cabinet.auth.models import Manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referrals import services
from cabinet.referrals.models import ProgramTerms
from cabinet.referrals.rules import HELP_PAGE_TERMS, Step
from cabinet.texts import NBSP, percent
from tests.conftest import FAST_PASSWORD_HASHING
from tests.factories import make_client
from tests.web.conftest import csrf_token, outside_requests

from cabinet.demo.seed import DEMO_MANAGER_EMAIL, DEMO_PASSWORD, seed  # isort: skip
from tests.support.page import page as read
from tests.support.sign_in import sign_in_manager


def demo_panel(make_app: Callable[..., Flask]) -> tuple[Flask, FlaskClient, str]:
    demo = make_app(DEMO_MODE=True, TESTING=True, PASSWORD_HASH_METHOD=FAST_PASSWORD_HASHING)
    with outside_requests(demo):
        seed(demo.extensions["context"])
    client = demo.test_client()
    sign_in_manager(client, DEMO_MANAGER_EMAIL, DEMO_PASSWORD)
    return demo, client, csrf_token(client.get("/manage/scenarios").text)


def run_of(page: str, key: str) -> str:
    found = re.search(
        rf'/manage/scenarios/{key}/steps/0">\s*<input[^>]*>\s*<input[^>]*'
        r'value="(\d+)"',
        page,
    )
    assert found, f"story {key} not started"
    return found.group(1)


def press(client: FlaskClient, token: str, key: str, label: str) -> tuple[str, str]:
    """Press the step of story `key` whose button reads `label`; (its index, where it led)."""
    page = client.get("/manage/scenarios").text
    card = page[page.index(f'id="story-{key}"') :]
    found = re.search(
        rf'/manage/scenarios/{key}/steps/(\d+)">(?:(?!</form>).)*>[^<]*{re.escape(label)}[^<]*</button>',
        card,
        re.S,
    )
    assert found, f"no step «{label}» in story {key}"
    response = client.post(
        f"/manage/scenarios/{key}/steps/{found.group(1)}",
        data={"csrf_token": token, "run": run_of(page, key)},
    )
    assert response.status_code == 303, response.text
    return found.group(1), str(response.location)


def step_item(page: str, key: str, index: str) -> str:
    start = page.index(f'<li id="story-{key}-step-{index}"')
    return page[start : page.index("</li>", start)]


def top_of(page: str) -> str:
    """What sits above the first card (the page's own messages)."""
    return page[: page.index('<section class="card scenario"')]


def test_a_steps_refusal_shows_beside_the_step_on_its_card(
    make_app: Callable[..., Flask], database: None
) -> None:
    _demo, client, token = demo_panel(make_app)
    client.post("/manage/scenarios/window/start", data={"csrf_token": token})
    press(client, token, "window", "+1 неделя")
    index, led_to = press(client, token, "window", "Клиент")  # «… пытается применить код …»
    assert led_to.endswith(f"#story-window-step-{index}")  # the view lands on the step
    page = client.get("/manage/scenarios").text
    item = step_item(page, "window", index)
    told = re.search(r'<div class="scenario__outcome[^"]*"[^>]*role="status"[^>]*>([^<]+)<', item)
    assert told and "Отказ: Срок применения кода" in told.group(1)
    assert "Срок применения кода" not in top_of(page)
    # shown once: the next page has no outcome left over
    assert "Отказ:" not in client.get("/manage/scenarios").text


def test_starting_a_story_is_told_on_its_card_in_the_terms_words(
    make_app: Callable[..., Flask], database: None
) -> None:
    _demo, client, token = demo_panel(make_app)
    response = client.post("/manage/scenarios/ladder/start", data={"csrf_token": token})
    assert response.location.endswith("#story-ladder")
    page = client.get("/manage/scenarios").text.replace(NBSP, " ")
    title = f"Лестница от {percent(0)} до {percent(100)} и пакеты SMS".replace(NBSP, " ")
    card = page[page.index('id="story-ladder"') :]
    assert f"Сценарий «{title}» начат с новыми клиентами." in card
    assert not re.findall(r"\{[A-Za-z_]\w*\}", page)


def test_the_window_story_closes_the_window_under_longer_terms(
    make_app: Callable[..., Flask], database: None
) -> None:
    """Under a three-month window the story's newcomer is registered so that «+1 неделя» still
    closes its window: the refusal is the story's point."""
    demo, client, token = demo_panel(make_app)
    context: Context = demo.extensions["context"]
    with outside_requests(demo):
        manager = db.session.scalar(select(Manager.id))
        assert manager is not None
        starts = (context.clock.now() + timedelta(minutes=2)).astimezone(context.timezone)
        values = terms_rules.values_of(
            replace(HELP_PAGE_TERMS, apply_window_months=3),
            "Окно три месяца",
            starts.replace(tzinfo=None, second=0, microsecond=0).isoformat(),
            "",
        )
        number = terms_services.save_draft(context, manager, None, values)
        terms_services.publish(context, manager, number, confirmed=True)
    client.post("/manage/clock", data={"jump": "day", "csrf_token": token})
    client.post("/manage/scenarios/window/start", data={"csrf_token": token})
    page = client.get("/manage/scenarios").text
    assert "в течение трех месяцев после регистрации" in page.replace(NBSP, " ")
    press(client, token, "window", "+1 неделя")
    index, _ = press(client, token, "window", "Клиент")
    item = step_item(client.get("/manage/scenarios").text, "window", index)
    assert "Отказ: Срок применения кода" in item


def test_pages_a_step_opens_lead_back_to_its_card(
    make_app: Callable[..., Flask], database: None
) -> None:
    _demo, client, token = demo_panel(make_app)
    client.post("/manage/scenarios/fraud/start", data={"csrf_token": token})
    press(client, token, "fraud", "Ромашка-Сервис»")  # the burst: «… применяют код … за минуту»
    index, card_url = press(client, token, "fraud", "Открыть карточку")
    back = read(client.get(card_url).text).by_id("way-back")  # the link back to the step
    assert back.attrs["href"] == f"/manage/scenarios#story-fraud-step-{index}"
    assert back.text.startswith("← К сценарию «Мошенничество")
    client.post("/manage/scenarios/season/start", data={"csrf_token": token})
    index, terms_url = press(client, token, "season", "Открыть «Условия программы»")
    back = read(client.get(terms_url).text).by_id("way-back")
    assert back.attrs["href"] == f"/manage/scenarios#story-season-step-{index}"
    assert back.text.startswith("← К сценарию")
    # nowhere else, and never outside the stories
    assert not read(client.get("/manage/terms").text).all(id="way-back")
    assert not read(client.get("/manage/terms?story=nope").text).all(id="way-back")


def _publish(context: Context, manager: int, title: str, first: int, days: int | None) -> int:
    zone = context.timezone
    starts = (context.clock.now() + timedelta(minutes=2)).astimezone(zone)
    starts = starts.replace(second=0, microsecond=0)
    ends = "" if days is None else (starts + timedelta(days=days)).replace(tzinfo=None).isoformat()
    terms = HELP_PAGE_TERMS.__class__(
        **{
            **HELP_PAGE_TERMS.__dict__,
            "ladder": (Step(1, first, 3, None), *HELP_PAGE_TERMS.ladder[1:]),
        }
    )
    values = terms_rules.values_of(terms, title, starts.replace(tzinfo=None).isoformat(), ends)
    number = terms_services.save_draft(context, manager, None, values)
    terms_services.publish(context, manager, number, confirmed=True)
    return number


def test_the_reset_takes_back_every_version_published_in_demo_mode(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo, client, token = demo_panel(make_app)
    context: Context = demo.extensions["context"]
    with outside_requests(demo):
        manager = db.session.scalar(select(Manager.id))
        assert manager is not None
        by_hand = _publish(context, manager, "Акция вручную", 30, 14)
        regular = _publish(context, manager, "Новые условия", 25, None)
    client.post("/manage/clock", data={"jump": "day", "csrf_token": token})
    reset = client.post("/manage/demo/reset", data={"csrf_token": token}, follow_redirects=True)
    assert "условия программы — только версия 1 (из справки)" in reset.text.replace(NBSP, " ")
    with outside_requests(demo):
        assert list(db.session.scalars(select(ProgramTerms.id))) == [1]
        versions = {
            (e.details or {}).get("version") for e in db.session.scalars(select(AuditEntry))
        }
        assert versions.isdisjoint({by_hand, regular})
    assert "Акция вручную" not in client.get("/manage/terms").text


def test_the_reset_says_which_version_it_keeps_and_why(
    make_app: Callable[..., Flask], database: None
) -> None:
    """A version a client outside the demo got its discount under stays (withdrawn), and the
    reset says so."""
    demo, client, token = demo_panel(make_app)
    context: Context = demo.extensions["context"]
    with outside_requests(demo):
        manager = db.session.scalar(select(Manager.id))
        assert manager is not None
        campaign = _publish(context, manager, "Акция вручную", 30, 14)
    client.post("/manage/clock", data={"jump": "day", "csrf_token": token})
    with outside_requests(demo):
        context.clock.forget()  # type: ignore[attr-defined]
        now = context.clock.now()
        make_client(5000, "Не демо", registered_at=now - timedelta(days=400))
        make_client(5001, "Тоже не демо", registered_at=now - timedelta(days=1))
        code = services.join(context, 5000).code
        services.join(context, 5001, code)
    reset = client.post("/manage/demo/reset", data={"csrf_token": token}, follow_redirects=True)
    assert (
        f"Версия условий {campaign} оставлена отозванной: по ней получили скидку клиенты вне демо."
        in reset.text.replace(NBSP, " ")
    )
    with outside_requests(demo):
        row = db.session.get(ProgramTerms, campaign)
        assert row is not None and row.status == "withdrawn"
