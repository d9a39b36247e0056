"""Every route the cabinet serves, described once for the attack suite and the access matrix,
and a small world to aim at: two clients (A the member, B another client), a manager, a
referral, an API token.

The routes are collected from the app's URL map: a route with a path parameter or a POST that
is not described here fails `test_every_route_is_described`, so a new route cannot be left out.
A new GET-only route without parameters is attacked with junk query parameters as it is."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select
from werkzeug.test import TestResponse

from cabinet.api import tokens
from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.program.rules import values_of
from cabinet.program.services import save_draft
from cabinet.referrals import services
from cabinet.referrals.models import Referral
from cabinet.referrals.rules import HELP_PAGE_TERMS
from tests.conftest import msk
from tests.factories import make_client
from tests.web.conftest import PASSWORD

Role = Literal["anonymous", "client", "other_client", "manager", "api"]
Owner = Literal["anonymous", "client", "manager", "api"]

CLIENT_A, CLIENT_B, REFEREE = 501, 502, 503
MANAGER_EMAIL = "sec-manager@example.ru"


@dataclass(frozen=True)
class Route:
    """How to reach one endpoint: who it is for, the method, and the valid input (every
    attack replaces one value of it)."""

    owner: Owner
    method: str
    form: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    path: dict[str, str] = field(default_factory=dict)
    changes_data: bool = False  # a valid request may change the database
    # Fields read by the same code as another field of the form (the terms editor's whole
    # numbers): they get the corpus's sample, the first of each kind the whole corpus.
    alike: frozenset[str] = frozenset()
    # A write it makes leaves the actor signed in and able to repeat it (a saved draft): no
    # need to sign in afresh after one.
    keeps_session: bool = False
    # A token in the path is the authority (the SMS's refusal link): no CSRF token is asked,
    # and an unknown token, with or without one, is a 404 that changes nothing.
    token_authority: bool = False


# A draft of the terms as the editor posts it: the help page's numbers, as a week's campaign.
_CAMPAIGN = values_of(HELP_PAGE_TERMS, "Акция", "2023-04-10T00:00", "2023-04-17T00:00")
# The whole corpus goes to one field of each kind the editor reads (the title, the moments, a
# whole number, a level's percent, an optional pack); the other whole numbers and the later
# levels are read by the same code and get the sample.
_FIRST_OF_EACH_KIND = {
    "title",
    "effective_from",
    "ends_at",
    "referee_percent",
    "level-1-percent",
    "level-1-sms_pack",
}
_READ_ALIKE = frozenset(name for name in _CAMPAIGN if name not in _FIRST_OF_EACH_KIND)

# Path values are filled from the world when the request is made ({referral}, {client}).
ROUTES: dict[tuple[str, str], Route] = {
    ("shell.index", "GET"): Route("anonymous", "GET"),
    ("static", "GET"): Route("anonymous", "GET", path={"filename": "cabinet.css"}),
    ("auth.login", "GET"): Route("anonymous", "GET", query={"next": "/referral"}),
    ("auth.login", "POST"): Route(
        "anonymous",
        "POST",
        form={"email": "c501@example.ru", "password": "не тот пароль"},
        query={"next": "/referral"},
    ),
    ("auth.demo_login", "POST"): Route("anonymous", "POST", path={"client_id": "{client}"}),
    ("auth.logout", "POST"): Route("client", "POST", changes_data=True),
    ("referrals.show", "GET"): Route("client", "GET", query={"tab": "clients", "after": ""}),
    ("referrals.apply_code", "POST"): Route(
        "client", "POST", form={"code": "abcdefabc"}, changes_data=True
    ),
    ("referrals.join", "POST"): Route("client", "POST", changes_data=True),
    ("notices.save", "POST"): Route("client", "POST", form={"notify": "y"}, changes_data=True),
    ("invitations.dialog", "GET"): Route("client", "GET", query={"channel": "sms", "part": "form"}),
    ("invitations.send", "POST"): Route(
        "client",
        "POST",
        form={"channel": "email", "recipient": "friend@example.ru", "consent": "y"},
        changes_data=True,
    ),
    ("invitations.unsubscribe", "GET"): Route("anonymous", "GET", path={"token": "not-a-token"}),
    # The personal link: public; an unknown code here (client A's own page names A, by design:
    # tests/web/test_personal_link.py checks it shows nothing else of A).
    ("links.personal", "GET"): Route("anonymous", "GET", path={"code": "abcdefabc"}),
    ("invitations.unsubscribe", "POST"): Route(
        "anonymous", "POST", path={"token": "not-a-token"}, changes_data=True
    ),
    # The SMS's refusal link: public; an unknown token (a 404, counted per IP).
    ("invitations.refuse", "GET"): Route(
        "anonymous", "GET", path={"token": "AbCd1234"}, token_authority=True
    ),
    ("invitations.refuse", "POST"): Route(
        "anonymous", "POST", path={"token": "AbCd1234"}, changes_data=True, token_authority=True
    ),
    # Signed by the gateway, no session (the attack app has no callback secret: all refused).
    ("callbacks.receipt", "POST"): Route(
        "anonymous", "POST", form={"key": "k", "status": "delivered"}, changes_data=True
    ),
    ("callbacks.inbound", "POST"): Route(
        "anonymous", "POST", form={"from": "+79101234567", "text": "СТОП"}, changes_data=True
    ),
    ("manage.login", "GET"): Route("anonymous", "GET", query={"next": "/manage/clients"}),
    ("manage.login", "POST"): Route(
        "anonymous",
        "POST",
        form={"email": MANAGER_EMAIL, "password": "не тот пароль"},
        query={"next": "/manage/clients"},
    ),
    ("manage.logout", "POST"): Route("manager", "POST", changes_data=True),
    ("manage.dashboard_page", "GET"): Route("manager", "GET"),
    ("manage.dashboard", "GET"): Route("manager", "GET"),
    ("manage.dashboard_csv", "GET"): Route("manager", "GET"),
    ("manage.audit_log", "GET"): Route("manager", "GET"),
    ("manage.clients", "GET"): Route("manager", "GET", query={"q": "501"}),
    ("manage.client", "GET"): Route("manager", "GET", path={"client_id": "{client}"}),
    ("manage.apply_for_client", "POST"): Route(
        "manager",
        "POST",
        form={"code": "abcdefabc", "reason": "по просьбе клиента"},
        path={"client_id": "{other_client}"},
        changes_data=True,
    ),
    # (The demo's pages — «Сценарии», the time machine, «Сбросить демо» — are registered only
    # in demo mode, which the test app is not in: tests/web/test_manage.py.)
    ("manage.requeue_invitations", "POST"): Route("manager", "POST", changes_data=True),
    # «Открыть как клиент» (the test manager has no right to it: refused, one flash) and back.
    ("manage.open_cabinet", "POST"): Route(
        "manager",
        "POST",
        form={"next": "/manage/clients"},
        path={"client_id": "{client}"},
    ),
    ("manage.close_cabinet", "POST"): Route("manager", "POST"),
    ("manage.revoke", "POST"): Route(
        "manager",
        "POST",
        form={"reason": "проверка"},
        path={"referral_id": "{referral}"},
        changes_data=True,
    ),
    ("terms.index", "GET"): Route("manager", "GET"),
    ("terms.new", "GET"): Route("manager", "GET"),
    ("terms.new", "POST"): Route(
        "manager",
        "POST",
        form=_CAMPAIGN,
        changes_data=True,
        alike=_READ_ALIKE,
        keeps_session=True,
    ),
    ("terms.edit", "GET"): Route("manager", "GET", path={"version": "{draft}"}),
    ("terms.edit", "POST"): Route(
        "manager",
        "POST",
        form=_CAMPAIGN,
        path={"version": "{draft}"},
        changes_data=True,
        alike=_READ_ALIKE,
        keeps_session=True,
    ),
    ("terms.publish", "POST"): Route(
        "manager", "POST", form={"confirm": "yes"}, path={"version": "{draft}"}, changes_data=True
    ),
    ("terms.withdraw", "POST"): Route(
        "manager", "POST", form={"confirm": "yes"}, path={"version": "{draft}"}, changes_data=True
    ),
    ("api.program_terms", "GET"): Route("api", "GET", query={"at": "2023-03-31T12:00"}),
    ("api.openapi_document", "GET"): Route("anonymous", "GET"),
    ("api.get_client", "GET"): Route("api", "GET", path={"client_id": "{client}"}),
    ("api.put_client", "PUT"): Route(
        "api",
        "PUT",
        json={
            "name": "Клиент 777",
            "registered_at": "2023-03-20",
            "promo_until": None,
            "email": "c777@example.ru",
            "phone": "+79101234567",
            "status": "active",
        },
        path={"client_id": "777"},
        changes_data=True,
    ),
    ("api.discount", "GET"): Route(
        "api", "GET", query={"at": "2023-03-31T12:00"}, path={"client_id": "{client}"}
    ),
    ("api.invoice", "POST"): Route(
        "api",
        "POST",
        json={
            "at": "2023-03-31T12:00",
            "lines": [
                {
                    "kind": "service",
                    "amount": 100000,
                    "description": "АТС",
                    "period": {"first_day": "2023-04-01", "last_day": "2023-04-30"},
                }
            ],
        },
        path={"client_id": "{client}"},
    ),
    ("api.events", "GET"): Route("api", "GET", query={"after": "0", "limit": "10"}),
}


def routes_of(app: Flask) -> list[tuple[str, str]]:
    """(endpoint, method) for every rule in the URL map."""
    found = set()
    for rule in app.url_map.iter_rules():
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            found.add((rule.endpoint, method))
    return sorted(found)


def route_for(app: Flask, endpoint: str, method: str) -> Route:
    """The described route, or (a GET without path parameters) a generic one."""
    if (endpoint, method) in ROUTES:
        return ROUTES[(endpoint, method)]
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    if method != "GET" or rule.arguments:
        raise LookupError(f"{method} {rule.rule} ({endpoint}) is not described in ROUTES")
    return Route("anonymous", "GET")


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


_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


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
            self._login("/login", email)
            page = "/referral"
        elif self.role == "manager":
            self._login("/manage/login", MANAGER_EMAIL)
            page = "/manage/dashboard"
        match = _CSRF.search(self.client.get(page).get_data(as_text=True))
        assert match, f"no CSRF token on {page} for {self.role}"
        self.csrf = match.group(1)

    def _login(self, url: str, email: str) -> None:
        token = _CSRF.search(self.client.get(url).get_data(as_text=True))
        assert token
        response = self.client.post(
            url, data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)}
        )
        assert response.status_code == 302, (self.role, response.status_code)

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
