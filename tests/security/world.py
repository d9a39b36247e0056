"""A small world for the attack suite and the access matrix to aim the route catalogue
(tests/support/routes.py) at: two clients (A the member, B another client), a manager, a
referral, an API token; an actor in each role; the database's digest and a write watcher."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.test import TestResponse

from cabinet.api import tokens
from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.program.services import save_draft
from cabinet.referrals import services
from cabinet.referrals.models import Referral
from tests.support.factories import make_client
from tests.support.moments import msk
from tests.support.routes import (
    _CAMPAIGN,
    CLIENT_A,
    CLIENT_B,
    MANAGER_EMAIL,
    REFEREE,
    ROUTES,
    Owner,
    Role,
    Route,
    route_for,
    routes_of,
)
from tests.support.sign_in import PASSWORD, csrf_token, sign_in

# The catalogue's names, where the security tests found them before tests/support/routes.py.
__all__ = ["ROUTES", "Owner", "Role", "Route", "route_for", "routes_of"]


@dataclass
class World:
    code_a: str
    referral_id: int
    token: str
    draft: int  # a draft of the terms («Условия программы»)
    secrets: tuple[str, ...]  # what client B must never see of client A

    def fill(self, value: str) -> str:
        return (
            value.replace("{client}", str(CLIENT_A))
            .replace("{other_client}", str(CLIENT_B))
            .replace("{referral}", str(self.referral_id))
            .replace("{draft}", str(self.draft))
        )


def build_world(app: Flask) -> World:
    context: Context = app.extensions["context"]
    with app.app_context():
        make_client(
            CLIENT_A,
            "АльфаТест",
            email="c501@example.ru",
            password=PASSWORD,
            registered_at=msk("2023-03-01 09:00"),
        )
        make_client(
            CLIENT_B,
            "БетаТест",
            email="c502@example.ru",
            password=PASSWORD,
            registered_at=msk("2023-03-25 09:00"),
        )
        make_client(REFEREE, "ГаммаТест", registered_at=msk("2023-03-20 09:00"))
        code = services.join(context.at(msk("2023-03-02 10:00")), CLIENT_A).code
        services.join(context.at(msk("2023-03-30 10:00")), REFEREE, code)
        referral_id = db.session.scalars(select(Referral.id)).one()
        manager = create_manager(
            MANAGER_EMAIL, PASSWORD, "Безопасность", datetime.now(UTC), edits_program_terms=True
        )
        token = tokens.issue(context, "attack-suite").token
        draft = save_draft(context, manager.id, None, _CAMPAIGN)
        db.session.remove()
    return World(code, referral_id, token, draft, (code, "ГаммаТест", "c501@example.ru"))


class Actor:
    """One browser (or API caller) in a role, with its CSRF token."""

    def __init__(self, app: Flask, role: Role, world: World) -> None:
        self.app = app
        self.role = role
        self.world = world
        self.client: FlaskClient = app.test_client()
        self.headers: dict[str, str] = {}
        self.csrf = ""
        self.sign_in()

    def sign_in(self) -> None:
        self.client = self.app.test_client()
        if self.role == "api":
            self.headers = {"Authorization": f"Bearer {self.world.token}"}
            return
        page = "/login"
        if self.role in ("client", "other_client"):
            email = "c501@example.ru" if self.role == "client" else "c502@example.ru"
            sign_in(self.client, email)
            page = "/referral"
        elif self.role == "manager":
            sign_in(self.client, MANAGER_EMAIL, manager=True)
            page = "/manage/dashboard"
        self.csrf = csrf_token(self.client.get(page).get_data(as_text=True))

    def send(
        self,
        app: Flask,
        endpoint: str,
        route: Route,
        *,
        form: list[tuple[str, str]] | None = None,
        query: list[tuple[str, str]] | None = None,
        json_body: bytes | None = None,
        content_type: str = "application/json",
        path: dict[str, str] | None = None,
        csrf: bool = True,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        url = self.url(app, endpoint, route, path)
        query = [(k, v) for k, v in route.query.items()] if query is None else query
        if query:
            url += "?" + encode(query)
        all_headers = {**self.headers, **(headers or {})}
        if json_body is not None:
            all_headers["Content-Type"] = content_type
            return self.client.open(url, method=route.method, data=json_body, headers=all_headers)
        if route.method == "GET":
            return self.client.open(url, method="GET", headers=all_headers)
        pairs = list(route.form.items()) if form is None else list(form)
        if csrf and self.csrf:
            pairs.append(("csrf_token", self.csrf))
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.client.open(
            url, method=route.method, data=encode(pairs).encode("ascii"), headers=all_headers
        )

    def url(self, app: Flask, endpoint: str, route: Route, path: dict[str, str] | None) -> str:
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        values = {k: self.world.fill(v) for k, v in route.path.items()}
        values.update(path or {})
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{name}>", values[name], url)
        return url


def encode(pairs: list[tuple[str, str]]) -> str:
    """As a browser sends it; a lone surrogate goes as its (invalid) UTF-8 bytes."""
    return "&".join(
        f"{quote(k, safe='', errors='surrogatepass')}={quote(v, safe='', errors='surrogatepass')}"
        for k, v in pairs
    )


class WriteWatcher:
    """Counts transactions that committed an INSERT, UPDATE or DELETE: a request that was
    refused must commit none. (Cheaper than hashing the database after every request; the
    suite still compares whole-database digests around each route.)"""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.committed = 0
        self._pending = False
        event.listen(self.engine, "before_cursor_execute", self._statement)
        event.listen(self.engine, "commit", self._commit)
        event.listen(self.engine, "rollback", self._rollback)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "commit", self._commit)
        event.remove(self.engine, "rollback", self._rollback)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            self._pending = True

    def _commit(self, _conn: Any) -> None:
        self.committed += self._pending
        self._pending = False

    def _rollback(self, _conn: Any) -> None:
        self._pending = False


def digest(app: Flask) -> str:
    """Every row of every table, hashed: equal digests mean nothing changed."""
    hasher = hashlib.sha256()
    with app.app_context():
        for table in db.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            for row in db.session.execute(select(table).order_by(*order)):
                hasher.update(repr(tuple(row)).encode("utf-8", "surrogatepass"))
        db.session.remove()
    return hasher.hexdigest()
