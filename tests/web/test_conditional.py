"""Conditional requests: the page, its tabs, the share dialog and the discount API are named by
what they show (cabinet/conditional.py, cabinet/stamps.py); a request that names what it has
gets 304 without a render, and nothing a member sees changes without a new name."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cabinet import stamps
from cabinet.auth.services import end_sessions
from cabinet.clients.models import Client, load_record
from cabinet.clock import Context, SettableClock
from cabinet.conditional import MemoryStore, RedisStore
from cabinet.db import db, transaction
from cabinet.invitations import notices
from cabinet.referrals import services
from tests.conftest import msk
from tests.factories import make_client
from tests.support.statements import queries, recorded
from tests.web.conftest import (
    Auth,
    csrf_token,
    outside_requests,
    referrer_with_referees,
    web_client,
)

HX = {"HX-Request": "true"}
SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")
READS = (
    ("/referral", {}),
    ("/referral?tab=history", HX),
    ("/referral?tab=clients", HX),
    ("/referral?tab=invitations", HX),
    ("/referral/invite", HX),
)


def _signed_in(app: Flask, client: FlaskClient) -> str:
    email, code = referrer_with_referees(app, referees=2)
    Auth(client).login(email)
    client.get("/referral")  # the session's CSRF token, made by the first page
    return code


def _again(
    client: FlaskClient, url: str, headers: dict[str, str], first: TestResponse
) -> TestResponse:
    return client.get(url, headers={**headers, "If-None-Match": first.headers["ETag"]})


@pytest.mark.parametrize(("url", "headers"), READS, ids=[u for u, _ in READS])
def test_a_read_names_what_it_shows_and_an_unchanged_one_is_not_sent_again(
    app: Flask, client: FlaskClient, url: str, headers: dict[str, str]
) -> None:
    _signed_in(app, client)
    first = client.get(url, headers=headers)
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "private, no-cache"
    assert first.headers["ETag"].startswith('"')
    assert "HX-Request" in first.headers["Vary"]
    with recorded(app) as statements:
        second = _again(client, url, headers, first)
    assert second.status_code == 304
    assert second.get_data() == b""
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["Cache-Control"] == "private, no-cache"
    for header in SECURITY_HEADERS:
        assert header in second.headers
    # only the signed-in client (and its stamps, in the same statement) was read
    assert len(queries(statements)) == 1


def test_the_kept_body_is_the_page_a_render_gives(app: Flask, client: FlaskClient) -> None:
    _signed_in(app, client)
    first = client.get("/referral?tab=clients", headers=HX)
    with recorded(app) as statements:
        kept = client.get("/referral?tab=clients", headers=HX)
    assert kept.status_code == 200
    assert kept.get_data() == first.get_data()
    assert kept.headers["ETag"] == first.headers["ETag"]
    assert len(queries(statements)) == 1
    assert "ТехКомплект" in kept.get_data(as_text=True)


def test_a_referee_applying_the_code_changes_the_referrers_page(
    app: Flask, client: FlaskClient, context: Context
) -> None:
    code = _signed_in(app, client)
    first = client.get("/referral?tab=clients", headers=HX)
    with outside_requests(app):
        make_client(407, "ТехСтрой", registered_at=msk("2023-03-20 09:00"))
        services.join(context.at(msk("2023-03-31 11:00")), 407, code)
    second = _again(client, "/referral?tab=clients", HX, first)
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]
    assert "ТехСтрой" in second.get_data(as_text=True)


def test_a_referees_new_name_changes_the_referrers_page(app: Flask, client: FlaskClient) -> None:
    _signed_in(app, client)
    first = client.get("/referral?tab=clients", headers=HX)
    with outside_requests(app):
        db.session.get(Client, 408).name = "ТехКомплект Плюс"
        db.session.commit()
    second = _again(client, "/referral?tab=clients", HX, first)
    assert second.status_code == 200
    assert "ТехКомплект Плюс" in second.get_data(as_text=True)


def test_the_notice_switch_changes_the_page(app: Flask, client: FlaskClient) -> None:
    _signed_in(app, client)
    first = client.get("/referral")
    with outside_requests(app):
        assert notices.set_switch(400, on=False)
    second = _again(client, "/referral", {}, first)
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]


def test_a_write_that_fails_changes_no_stamp(app: Flask, client: FlaskClient) -> None:
    _signed_in(app, client)
    with outside_requests(app):
        before = stamps.of_client(400)
        with pytest.raises(RuntimeError), transaction():
            db.session.get(Client, 400).name = "Другое имя"
            db.session.flush()
            raise RuntimeError("rolled back")
        assert stamps.of_client(400) == before


def test_the_next_minute_is_another_name(
    app: Flask, client: FlaskClient, clock: SettableClock
) -> None:
    _signed_in(app, client)
    first = client.get("/referral")
    clock.set(msk("2023-03-31 12:01"))
    second = _again(client, "/referral", {}, first)
    assert second.status_code == 200
    assert second.headers["ETag"] != first.headers["ETag"]


def test_a_minute_in_which_the_page_changes_is_never_named(
    app: Flask, client: FlaskClient, clock: SettableClock, context: Context
) -> None:
    """A referee applies the code at 11:00:30: the referrer's new step starts then, so the
    history reads «начнет действовать» at 11:00:10 and «действует» at 11:00:40 — that minute
    is neither named nor kept; the next one is."""
    clock.set(msk("2023-03-31 11:00"))  # signed in before the minute (no cookie from the future)
    code = _signed_in(app, client)
    with outside_requests(app):
        make_client(407, "ТехСтрой", registered_at=msk("2023-03-20 09:00"))
        services.join(context.at(msk("2023-03-31 11:00") + timedelta(seconds=30)), 407, code)
    texts = []
    for seconds in (10, 40):
        clock.set(msk("2023-03-31 11:00") + timedelta(seconds=seconds))
        page = client.get("/referral?tab=history", headers=HX)
        assert page.status_code == 200
        assert "ETag" not in page.headers
        texts.append(page.get_data(as_text=True))
    assert "начнет действовать" in texts[0].split("</tr>")[1]
    assert "действует" in texts[1].split("</tr>")[1]
    assert "начнет действовать" not in texts[1].split("</tr>")[1]
    clock.set(msk("2023-03-31 11:01"))
    assert "ETag" in client.get("/referral?tab=history", headers=HX).headers


def test_a_revoked_session_gets_no_304_and_no_kept_page(app: Flask, client: FlaskClient) -> None:
    _signed_in(app, client)
    first = client.get("/referral?tab=history", headers=HX)
    with outside_requests(app):
        record = load_record(400)
        assert record is not None
        end_sessions(record)  # «Выйти» elsewhere: every cookie issued so far stops working
    again = _again(client, "/referral?tab=history", HX, first)
    assert again.status_code == 401  # htmx is sent to the sign-in page
    assert "ETag" not in again.headers
    assert "/login" in again.headers["HX-Redirect"]
    page = client.get("/referral", headers={"If-None-Match": first.headers["ETag"]})
    assert page.status_code == 302


def test_an_idle_session_gets_no_304(app: Flask, client: FlaskClient, clock: SettableClock) -> None:
    _signed_in(app, client)
    first = client.get("/referral?tab=history", headers=HX)
    idle = app.config["PERMANENT_SESSION_LIFETIME"]
    clock.set(clock.now() + idle + timedelta(seconds=60))  # the session ages on the app's clock
    again = _again(client, "/referral?tab=history", HX, first)
    assert again.status_code == 401
    assert "ETag" not in again.headers


def test_a_flash_message_is_shown_not_skipped(app: Flask, client: FlaskClient, auth: Auth) -> None:
    """«Вы участвуете в программе…» is in the session for the next page: that page renders."""
    email = web_client(app, 600, "Новичок", registered_at=msk("2023-03-30 09:00"))
    auth.login(email)
    first = client.get("/referral")
    response = auth.post("/referral/join")
    assert response.status_code == 303
    page = client.get("/referral", headers={"If-None-Match": first.headers.get("ETag", '"x"')})
    assert page.status_code == 200
    assert "Вы участвуете в программе" in page.get_data(as_text=True)


def test_every_table_says_who_sees_it(app: Flask) -> None:
    """A new table must be declared in cabinet/stamps.py (until it is, a write to it changes
    every member's stamp: never stale, only cached less)."""
    with app.app_context():
        tables = set(db.metadata.tables)
    assert tables - stamps.declared_tables() == set()


def test_the_cache_is_the_limits_redis_when_they_have_one(make_app: Callable[..., Flask]) -> None:
    shared = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/15")
    assert isinstance(shared.extensions["fragment_cache"], RedisStore)
    alone = make_app(RATELIMIT_STORAGE_URI="memory://", FRAGMENT_CACHE_BYTES=1024)
    assert isinstance(alone.extensions["fragment_cache"], MemoryStore)
    assert alone.extensions["fragment_cache"].max_bytes == 1024


def test_signing_out_clears_the_pages_the_browser_kept(app: Flask, client: FlaskClient) -> None:
    """The pages are kept to be revalidated (`private, no-cache`): «Выйти» asks the browser to
    drop them, so «Назад» on a shared computer shows none of them."""
    _signed_in(app, client)
    page = client.get("/referral")
    assert page.headers["Cache-Control"] == "private, no-cache"
    out = client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert out.status_code == 302
    assert out.headers["Clear-Site-Data"] == '"cache"'
