"""Who may do what: every route × {anonymous, another client, the client, a manager, an API
caller} × {with, without a CSRF token}. Clients never reach /manage, managers never reach
client pages, a client never sees another client's data, the API wants its token and ignores
cookies, and no form is accepted without its CSRF token."""

from __future__ import annotations

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from tests.security.figures import FIGURES
from tests.security.test_attack_suite import ALL_ROUTES
from tests.security.world import Actor, Role, Route, World, build_world, route_for

ROLES: tuple[Role, ...] = ("anonymous", "other_client", "client", "manager", "api")


def _location(response: TestResponse) -> str:
    return response.headers.get("Location", "")


def expected_problem(
    endpoint: str, route: Route, role: Role, csrf: bool, response: TestResponse
) -> str | None:
    """What is wrong with this answer for this cell, or None."""
    status = response.status_code
    if status >= 500:
        return f"HTTP {status}"
    posting = route.method != "GET"
    if route.owner == "api":
        if role == "api":
            return "token refused" if status == 401 else None
        return None if status == 401 else f"HTTP {status} without a token (want 401)"
    if route.token_authority:  # the token is the authority: an unknown one is a 404 for all
        return None if status == 404 else f"HTTP {status} for an unknown token (want 404)"
    if posting and (not csrf or role == "api"):  # an API caller has no session, no CSRF token
        return None if status == 400 else f"HTTP {status} without CSRF (want 400)"
    if endpoint.endswith(".logout"):  # anyone may sign out; it lands on a sign-in page
        return None
    if route.owner == "client":
        if role in ("anonymous", "api"):
            return (
                None
                if _location(response).startswith("/login")
                else f"HTTP {status} {_location(response)}"
            )
        if role == "manager":
            return None if _location(response).startswith("/manage/dashboard") else f"HTTP {status}"
        return "sent to sign in" if _location(response).startswith("/login") else None
    if route.owner == "manager":
        if role != "manager":
            return None if _location(response).startswith("/manage/login") else f"HTTP {status}"
        return "sent to sign in" if _location(response).startswith("/manage/login") else None
    return None  # pages for everyone


def leaked(world: World, role: Role, route: Route, response: TestResponse) -> list[str]:
    """Client A's data in an answer to anyone but A, a manager or the API (a value the
    request itself carried, such as a typed e-mail, is not a leak)."""
    if role in ("client", "manager", "api"):
        return []
    body = response.get_data(as_text=True)
    sent = set(route.form.values())
    return [secret for secret in world.secrets if secret in body and secret not in sent]


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app: Flask, database: None, role: Role) -> None:
    world = build_world(app)
    actor = Actor(app, role, world)
    problems = []
    for endpoint, method in ALL_ROUTES:
        route = route_for(app, endpoint, method)
        for csrf in (True, False) if method != "GET" else (True,):
            response = actor.send(app, endpoint, route, csrf=csrf)
            FIGURES["matrix"]["requests"] += 1
            FIGURES["matrix"]["cells"] += 1
            FIGURES["matrix"]["server_errors"] += response.status_code >= 500
            where = f"{role} {method} {endpoint} csrf={csrf}"
            problem = expected_problem(endpoint, route, role, csrf, response)
            if problem:
                problems.append(f"{where}: {problem}")
            for secret in leaked(world, role, route, response):
                problems.append(f"{where}: shows client A's {secret!r}")
            response.close()
            if route.changes_data and response.status_code < 400:
                actor.sign_in()
    assert not problems, "\n".join(problems)
