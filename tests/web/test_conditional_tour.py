"""No write skips the change stamps: every call of the tour (tests/web/tour.py: every endpoint,
the members', the manager's and the API's writes among them) is made while members watch their
pages; after each, a page that still answers 304 (or with the kept body) must read exactly as a
fresh render does. A write that changed what a member sees without changing its stamp fails
here — a new endpoint joins the tour, so its writes are checked as they arrive."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cabinet.conditional import MemoryStore
from cabinet.db import db
from cabinet.referrals.models import Referral
from tests.conftest import empty_tables
from tests.support.sign_in import sign_in
from tests.web.tour import HX, STOPS, World, _api, make_world, take

PAGES = (
    ("/referral", {}),
    ("/referral?tab=history", HX),
    ("/referral?tab=clients", HX),
    ("/referral?tab=invitations", HX),
    ("/referral/invite", HX),
)
# Each form's CSRF token is signed anew on each render (same session, same raw token).
_TOKENS = re.compile(r'(name="csrf_token"(?: type="hidden")? value="|"X-CSRFToken": ")[^"]+')


def _same(text: str) -> str:
    return _TOKENS.sub(r"\1…", text)


@dataclass
class Watcher:
    """A browser of one member, or billing asking for one client's discount."""

    email: str | None
    client_id: int
    browser: FlaskClient
    seen: dict[str, tuple[str, str]] = field(default_factory=dict)  # url → (ETag, body)


@pytest.fixture(scope="module")
def world(app: Flask) -> Iterator[World]:
    with app.app_context():
        empty_tables()
    yield make_world(app, 3000, 8)


def _urls(watcher: Watcher) -> tuple[tuple[str, dict[str, str]], ...]:
    api = ((f"/api/v1/clients/{watcher.client_id}/discount", {}),)
    return (PAGES if watcher.email else ()) + api


def _get(watcher: Watcher, world: World, url: str, headers: dict[str, str]) -> object:
    extra = _api(world) if url.startswith("/api/") else {}
    response = watcher.browser.get(url, headers={**headers, **extra})
    if response.status_code in (302, 401) and watcher.email:  # signed out by the tour
        assert sign_in(watcher.browser, watcher.email).status_code == 302
        watcher.browser.get("/referral")
        response = watcher.browser.get(url, headers={**headers, **extra})
    return response


def _fresh(app: Flask, watcher: Watcher, world: World, url: str, headers: dict[str, str]) -> str:
    """The same request rendered now, with nothing kept."""
    kept = app.extensions["fragment_cache"]
    app.extensions["fragment_cache"] = MemoryStore(0)
    try:
        response = _get(watcher, world, url, headers)
    finally:
        app.extensions["fragment_cache"] = kept
    assert response.status_code == 200  # type: ignore[attr-defined]
    return _same(response.get_data(as_text=True))  # type: ignore[attr-defined]


def test_no_call_of_the_tour_leaves_a_member_a_stale_page(app: Flask, world: World) -> None:
    with app.app_context():
        referee = db.session.get(Referral, world.referral_id).referee_id  # revoked by the tour
        db.session.remove()
    watchers = [
        Watcher(world.email, world.referrer, app.test_client()),
        Watcher(f"c{world.newcomer}@example.ru", world.newcomer, app.test_client()),
        Watcher(f"c{world.joiner}@example.ru", world.joiner, app.test_client()),
        Watcher(None, referee, app.test_client()),
    ]
    for watcher in watchers:
        if watcher.email:
            assert sign_in(watcher.browser, watcher.email).status_code == 302
            watcher.browser.get("/referral")
    checked = 0
    for stop in STOPS:
        for watcher in watchers:
            for url, headers in _urls(watcher):
                response = _get(watcher, world, url, headers)
                if "ETag" in response.headers:  # type: ignore[attr-defined]
                    body = _same(response.get_data(as_text=True))  # type: ignore[attr-defined]
                    watcher.seen[url] = (response.headers["ETag"], body)  # type: ignore[attr-defined]
        take(app, stop, world)
        for watcher in watchers:
            for url, headers in _urls(watcher):
                if url not in watcher.seen:
                    continue
                tag, before = watcher.seen.pop(url)
                again = _get(watcher, world, url, {**headers, "If-None-Match": tag})
                fresh = _fresh(app, watcher, world, url, headers)
                if again.status_code == 304:  # type: ignore[attr-defined]
                    assert before == fresh, (stop.name, watcher.client_id, url)
                    checked += 1
                else:
                    assert again.status_code == 200, (stop.name, url)  # type: ignore[attr-defined]
                    body = _same(again.get_data(as_text=True))  # type: ignore[attr-defined]
                    assert body == fresh, (stop.name, watcher.client_id, url)
    assert checked > len(STOPS)  # most calls change nothing a given member sees
