"""Where a published version falls among the others, through the panel and the API: a campaign
keeps its window (regular terms that start during it take effect when it ends); two campaigns
never overlap; the moments a manager types are bounded; a version never starts before its
publish has committed, whatever activations run meanwhile."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select, text

from cabinet.api import tokens
from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.referrals import services
from cabinet.referrals.models import Grant, ProgramTerms
from tests.conftest import msk
from tests.web.conftest import csrf_token, outside_requests, web_client
from tests.web.test_program_terms_web import (
    APRIL_CAMPAIGN,
    EDITOR,
    _login,
    _managers,
    _post,
    _publish_campaign,
)

MAY_REGULAR = {
    **APRIL_CAMPAIGN,
    "title": "Новые условия с 15.04",
    "effective_from": "2023-04-15T00:00",
    "ends_at": "",
    "referee_percent": "25",
    "level-1-percent": "30",
}


def _save(client: FlaskClient, values: dict[str, str]) -> str:
    saved = _post(client, "/manage/terms/new", "/manage/terms/new", values)
    assert saved.status_code == 303, saved.text
    return str(saved.headers["Location"])


def _version(url: str) -> int:
    return int(url.rstrip("/").rsplit("/", 1)[1])


def _api(app: Flask) -> dict[str, str]:
    context: Context = app.extensions["context"]
    with outside_requests(app):
        token = tokens.issue(context, "billing").token
    return {"Authorization": f"Bearer {token}"}


def test_regular_terms_starting_during_a_campaign_wait_for_its_end(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    """Before: the regular version cut the campaign short on 15.04 (the latest start won),
    contrary to docs/rules.md, and the API said so for any moment after it."""
    _managers(app)
    headers = _api(app)
    _login(client, EDITOR)
    campaign = _publish_campaign(client)
    url = _save(client, MAY_REGULAR)
    regular = _version(url)
    draft = client.get(url).text
    assert (
        f"Начало 15.04.2023 00:00 приходится на акцию: акция «Апрельская акция» (версия "
        f"{campaign}) действует до конца, эта версия вступит в силу 01.05.2023 00:00."
    ) in draft
    assert "Если бы каждый участник привел еще одного клиента 01.05.2023 00:00" in draft
    published = _post(client, f"{url}/publish", url, {"confirm": "yes"})
    assert published.status_code == 303
    listing = client.get("/manage/terms").text
    assert f"Версия {regular} опубликована: действует с 01.05.2023 00:00." in listing

    def version_at(moment: str) -> tuple[int, int | None]:
        body = client.get(f"/api/v1/program?at={moment}", headers=headers).get_json()
        then = body["then"]
        return body["current"]["version"], None if then is None else then["version"]

    clock.set(msk("2023-04-20 12:00"))  # during the campaign, after the new terms' start
    _login(client, EDITOR)  # three weeks later: the session ended long ago
    listing = client.get("/manage/terms").text
    assert f"Сейчас действует: версия {campaign}" in listing
    upcoming = listing.split('id="terms-upcoming-title"', 1)[1].split("<h2", 1)[0]
    assert "Новые условия с 15.04" in upcoming  # not yet in force: among the upcoming
    assert "вступит в силу после акции" in upcoming
    assert "снова в силе после акции" not in listing
    during = client.get("/api/v1/program?at=2023-04-20T12:00", headers=headers).get_json()
    assert [v["version"] for v in during["upcoming"]] == [regular]
    assert version_at("2023-04-10T12:00") == (campaign, regular)
    assert version_at("2023-04-20T12:00") == (campaign, regular)  # the campaign still runs
    assert version_at("2023-04-30T23:59") == (campaign, regular)
    assert version_at("2023-05-01T00:00") == (regular, None)
    assert version_at("2023-05-20T12:00") == (regular, None)


def test_a_second_campaign_over_the_same_dates_is_refused(app: Flask, client: FlaskClient) -> None:
    """Before: it was published without a word, and which campaign applied was a guess."""
    _managers(app)
    headers = _api(app)
    _login(client, EDITOR)
    campaign = _publish_campaign(client)
    second = {
        **APRIL_CAMPAIGN,
        "title": "Вторая акция",
        "effective_from": "2023-04-20T00:00",
        "ends_at": "2023-05-10T00:00",
    }
    url = _save(client, second)
    version = _version(url)
    clash = (
        f"Версию {version} нельзя опубликовать: ее даты пересекаются с акцией «Апрельская акция» "
        f"(версия {campaign}, с 01.04.2023 00:00 до 01.05.2023 00:00). Две акции одновременно не "
        "действуют: измените даты или отзовите ту акцию, пока она не началась."
    )
    assert clash in client.get(url).text  # the preview says so before «Опубликовать»
    refused = _post(client, f"{url}/publish", url, {"confirm": "yes"})
    assert refused.status_code == 409
    assert clash in refused.text
    assert "черновик" in client.get(url).text
    body = client.get("/api/v1/program?at=2023-04-25T12:00", headers=headers).get_json()
    assert body["current"]["version"] == campaign
    assert body["upcoming"] == []  # the draft is no version
    # Right after the first one ends, it may run.
    moved = {**second, "effective_from": "2023-05-01T00:00", "ends_at": "2023-05-10T00:00"}
    assert _post(client, url, url, moved).status_code == 303
    assert clash not in client.get(url).text
    assert _post(client, f"{url}/publish", url, {"confirm": "yes"}).status_code == 303
    body = client.get("/api/v1/program?at=2023-05-05T12:00", headers=headers).get_json()
    assert body["current"]["version"] == version


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("effective_from", "9999-01-01T00:00", "Начало — не позже 2100 года."),
        ("effective_from", "2101-01-01T00:00", "Начало — не позже 2100 года."),
        ("ends_at", "9999-12-31T23:59", "Конец акции — не позже 2100 года."),
    ],
)
def test_moments_past_2100_are_refused_in_the_editor(
    app: Flask, client: FlaskClient, field: str, value: str, message: str
) -> None:
    """Before: a draft starting in 9999 was saved and published, and then its page answered
    500 (`ValueError: year 10000 is out of range` in add_months, from the preview)."""
    _managers(app)
    _login(client, EDITOR)
    saved = _post(
        client, "/manage/terms/new", "/manage/terms/new", {**APRIL_CAMPAIGN, field: value}
    )
    assert saved.status_code == 422
    assert message in saved.text
    assert value in saved.text  # kept as typed
    with outside_requests(app):
        assert db.session.scalars(select(ProgramTerms.id)).all() == [1]


def test_moments_past_2100_are_refused_by_the_api(app: Flask, client: FlaskClient) -> None:
    headers = _api(app)
    for moment in ("2101-01-01T00:00", "9999-12-31T23:59:59+03:00"):
        answer = client.get(f"/api/v1/program?at={moment}", headers=headers)
        assert answer.status_code == 400
        assert "Параметр at" in answer.get_json()["detail"]
    assert client.get("/api/v1/program?at=2100-12-31T12:00", headers=headers).status_code == 200


# ---- a publish racing activations (PostgreSQL: SQLite runs one writer at a time) ---------


@contextmanager
def audit_blocked(app: Flask) -> Iterator[Any]:
    """Another session holds the audit log locked: a publish stops at its audit entry, after
    it checked its start against the clock and before it commits."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    try:
        with engine.connect() as conn:
            conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
            yield conn
            conn.rollback()
    finally:
        engine.dispose()


def _waiting_for_audit(conn: Any) -> bool:
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'audit_log'::regclass"
    return bool(conn.execute(text(query)).scalar())


def _waiting_for_terms(conn: Any) -> bool:
    query = "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'advisory'"
    return bool(conn.execute(text(query)).scalar())


def _until(condition: Any) -> None:
    """Wait for another session's progress, which the database shows (no timing asserted)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the other session made no progress"
        time.sleep(0.005)


def test_activations_during_a_slow_publish_get_the_new_version_from_its_start(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    """Before: the publish checked its start against the clock, then committed later; an
    activation in between (after the start) read the old terms. Now the publish takes the
    activations' lock first: the activation waits for its commit and gets the new version."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("только на PostgreSQL (TEST_DATABASE_URL): SQLite пишет по одному")
    context: Context = app.extensions["context"]
    _managers(app)
    headers = _api(app)
    web_client(app, 1, "АльфаТелеком", registered_at=msk("2023-03-01 09:00"))
    web_client(app, 2, "ТехСтрой", registered_at=msk("2023-03-25 09:00"))
    with outside_requests(app):
        code = services.join(context.at(msk("2023-03-01 10:00")), 1).code
    _login(client, EDITOR)
    starts_soon = {**APRIL_CAMPAIGN, "effective_from": "2023-03-31T12:05"}
    url = _save(client, starts_soon)
    version = _version(url)
    token_page = client.get(url).text
    outcome: dict[str, Any] = {}

    def publish() -> None:
        outcome["publish"] = client.post(
            f"{url}/publish", data={"confirm": "yes", "csrf_token": csrf_token(token_page)}
        ).status_code

    def activate() -> None:
        with app.app_context():
            try:
                outcome["terms"] = services.join(context, 2, code).terms.version  # type: ignore[union-attr]
            finally:
                db.session.remove()

    with audit_blocked(app) as conn:
        publisher = threading.Thread(target=publish)
        publisher.start()
        _until(lambda: _waiting_for_audit(conn))  # checked at 12:00, stopped before its commit
        clock.set(msk("2023-03-31 12:10"))  # the version's start has passed
        activation = threading.Thread(target=activate)
        activation.start()
        _until(lambda: "terms" in outcome or _waiting_for_terms(conn))
    publisher.join(30)
    activation.join(30)
    assert outcome["publish"] == 303
    assert outcome["terms"] == version
    discount = client.get("/api/v1/clients/2/discount", headers=headers).get_json()
    assert (discount["percent"], discount["terms_version"]) == (35, version)
    with outside_requests(app):
        versions = db.session.scalars(select(Grant.terms_version).where(Grant.client_id == 2))
        assert list(versions) == [version]


@pytest.mark.parametrize(
    ("title", "problem"),
    [
        ("Акция \u202eяинеджо", "символы смены направления текста недопустимы"),
        ("Акция\u2066 \u2069", "символы смены направления текста недопустимы"),
        ("Акция\r\nвторая строка", "перевод строки и табуляция здесь недопустимы"),
    ],
)
def test_titles_go_through_the_same_input_guard_as_every_field(
    app: Flask, client: FlaskClient, title: str, problem: str
) -> None:
    """Before: a version's title took bidirectional overrides and line breaks (a name that
    reads differently from what it is, in the panel, the audit log and the API)."""
    _managers(app)
    _login(client, EDITOR)
    saved = _post(
        client, "/manage/terms/new", "/manage/terms/new", {**APRIL_CAMPAIGN, "title": title}
    )
    assert saved.status_code == 422
    assert f"Недопустимые символы: {problem}." in saved.text
    with outside_requests(app):
        assert db.session.scalars(select(ProgramTerms.id)).all() == [1]


def test_a_version_cannot_be_published_at_the_moment_it_starts(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    """Before: a start equal to the publish's clock was accepted, so an activation at that very
    moment could be judged before the version existed. Its start must be later than now."""
    _managers(app)
    headers = _api(app)
    _login(client, EDITOR)
    url = _save(client, {**APRIL_CAMPAIGN, "effective_from": "2023-03-31T12:05"})
    clock.set(msk("2023-03-31 12:05"))
    refused = _post(client, f"{url}/publish", url, {"confirm": "yes"})
    assert refused.status_code == 303
    page = client.get(url).text
    assert (
        "Черновик нельзя опубликовать: Начало не может быть в прошлом: сейчас 31.03.2023 12:05."
        in page
    )
    body = client.get("/api/v1/program?at=2023-03-31T12:05", headers=headers).get_json()
    assert body["current"]["version"] == 1
    assert body["upcoming"] == []


def test_the_time_machine_refuses_dates_past_2100(
    make_app: Callable[..., Flask], database: None
) -> None:
    """Before: «31.12.9999» moved the demo clock there, and «+1 месяц» then answered 500
    (`ValueError: year 10000 is out of range` in add_months)."""
    from tests.web.test_demo_panel import DEMO_MANAGER_EMAIL, DEMO_PASSWORD, seed, sign_in

    demo = make_app(DEMO_MODE=True)
    with outside_requests(demo):
        seed(demo.extensions["context"])
    web = demo.test_client()
    sign_in(web, DEMO_MANAGER_EMAIL, DEMO_PASSWORD)
    token = csrf_token(web.get("/manage/dashboard").text)
    moved = web.post(
        "/manage/clock", data={"jump": "date", "day": "31.12.9999", "csrf_token": token}
    )
    assert moved.status_code == 302
    assert "Дата — с 1970 по 2100 год." in web.get("/manage/dashboard").text
    month = web.post("/manage/clock", data={"jump": "month", "csrf_token": token})
    assert month.status_code == 302
    assert "Время кабинета:" in web.get("/manage/dashboard").text
    web.post("/manage/clock", data={"jump": "now", "csrf_token": token})
