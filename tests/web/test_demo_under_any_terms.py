"""The demo's stories hold under any terms the panel can publish: every story is started and
every step pressed through the Flask client under a generated valid version (1…MAX_LEVELS
levels, SMS packs on any levels or none, a campaign or not), and no response is a 5xx or shows
a place left unfilled (`{p3}`, `{sms3}`, `{cp1}`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from cabinet.auth.models import Manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referrals.rules import Step, TermsNumbers
from tests.conftest import FAST_PASSWORD_HASHING, empty_tables
from tests.support.terms_forms import SEVEN_LEVELS
from tests.web.conftest import csrf_token, outside_requests

from cabinet.demo.seed import DEMO_MANAGER_EMAIL, DEMO_PASSWORD, seed  # isort: skip
from cabinet.demo.stories import STORIES  # isort: skip
from tests.support.sign_in import sign_in_manager

PLACE = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
STEP_FORM = re.compile(r'action="(/manage/scenarios/(\w+)/steps/(\d+))"')


@dataclass(frozen=True)
class Version:
    terms: TermsNumbers
    campaign_days: int | None  # a campaign: it ends this many days after it starts


@st.composite
def versions(draw: st.DrawFn) -> Version:
    levels = draw(st.integers(1, terms_rules.MAX_LEVELS))
    percents = sorted(draw(st.lists(st.integers(1, 100), min_size=levels, max_size=levels)))
    packs = draw(
        st.lists(
            st.one_of(st.none(), st.integers(1, terms_rules.MAX_SMS_PACK)),
            min_size=levels,
            max_size=levels,
        )
    )
    seen: set[int] = set()
    ladder = []
    for level, (percent, pack) in enumerate(zip(percents, packs, strict=True), start=1):
        if pack in seen:
            pack = None
        seen.add(pack or 0)
        months = draw(st.integers(1, 24))
        ladder.append(Step(level, percent, months, pack))
    terms = TermsNumbers(
        version=0,
        referee_percent=draw(st.integers(1, 100)),
        referee_months=draw(st.integers(1, 24)),
        ladder=tuple(ladder),
        apply_window_months=draw(st.integers(1, 12)),
        max_discount_percent=draw(st.integers(1, 100)),
    )
    return Version(terms, draw(st.one_of(st.none(), st.integers(2, 60))))


# The version: seven levels, SMS packs at 3, 5 and 7, as a campaign.
SEVEN_LEVELS_CAMPAIGN = Version(SEVEN_LEVELS, 30)


def publish(context: Context, version: Version) -> None:
    """Through the panel's own services, as a manager would; from the next minute."""
    zone = context.timezone
    now = context.clock.now()
    starts = (now + timedelta(minutes=2)).astimezone(zone).replace(second=0, microsecond=0)
    ends = None if version.campaign_days is None else starts + timedelta(days=version.campaign_days)
    values = terms_rules.values_of(
        version.terms,
        "Проверка",
        starts.replace(tzinfo=None).isoformat(),
        "" if ends is None else ends.astimezone(zone).replace(tzinfo=None).isoformat(),
    )
    manager = db.session.scalar(select(Manager.id).where(Manager.email == DEMO_MANAGER_EMAIL))
    assert manager is not None
    number = terms_services.save_draft(context, manager, None, values)
    terms_services.publish(context, manager, number, confirmed=True)


def shown(response_text: str, where: str) -> str:
    found = PLACE.findall(response_text)
    assert not found, f"{where}: unfilled {found}"
    return response_text


def play_every_story(client: FlaskClient) -> int:
    """«Начать» on every card, then every step from the top, following every page it leads to;
    returns how many steps were pressed."""
    pressed = 0
    board = shown(client.get("/manage/scenarios").text, "«Сценарии»")
    token = csrf_token(board)
    for story in STORIES:
        started = client.post(
            f"/manage/scenarios/{story.key}/start",
            data={"csrf_token": token},
            follow_redirects=True,
        )
        assert started.status_code == 200, started.text
        page: str | None = shown(started.text, f"«Начать» {story.key}")
        for index in range(len(story.steps)):
            if page is None:  # the last step led elsewhere: back to «Сценарии»
                page = client.get("/manage/scenarios").text
            run = re.search(
                rf'action="/manage/scenarios/{story.key}/steps/{index}">\s*'
                r'<input[^>]*>\s*<input type="hidden" name="run" value="(\d+)">',
                page,
            )
            if run is None:  # the story cannot be shown under these terms: its card says why
                assert f'id="story-{story.key}-unavailable"' in page, story.key
                break
            response = client.post(
                f"/manage/scenarios/{story.key}/steps/{index}",
                data={"csrf_token": token, "run": run.group(1)},
                follow_redirects=True,
            )
            assert response.status_code < 500, (story.key, index, response.text)
            pressed += 1
            shown(response.text, f"{story.key}, шаг {index + 1}")
            # A step answered on «Сценарии» is the page the next step is read from.
            page = response.text if response.request.path == "/manage/scenarios" else None
            if 'action="/manage/cabinet/close"' in response.text:  # back from the cabinet
                client.post("/manage/cabinet/close", data={"csrf_token": token})
                page = None
        shown(client.get("/manage/scenarios").text, f"«Сценарии» после {story.key}")
    return pressed


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(version=versions())
@example(version=SEVEN_LEVELS_CAMPAIGN)
@example(version=None)  # the help page's terms
def test_every_story_under_any_valid_terms(
    make_app: Callable[..., Flask], database: None, version: Version | None
) -> None:
    demo = make_app(DEMO_MODE=True, TESTING=True, PASSWORD_HASH_METHOD=FAST_PASSWORD_HASHING)
    context: Context = demo.extensions["context"]
    with outside_requests(demo):
        empty_tables()
        context.clock.forget()  # type: ignore[attr-defined]
        seed(context)
        if version is not None:
            publish(context, version)
    client = demo.test_client()
    sign_in_manager(client, DEMO_MANAGER_EMAIL, DEMO_PASSWORD)
    if version is not None:  # the version in force: a day later
        token = csrf_token(client.get("/manage/dashboard").text)
        client.post("/manage/clock", data={"jump": "day", "csrf_token": token})
    every_step = sum(len(story.steps) for story in STORIES)
    season = next(len(story.steps) for story in STORIES if story.key == "season")
    assert play_every_story(client) >= every_step - season  # only the campaign may be refused
