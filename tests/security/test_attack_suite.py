"""The standing attack suite: the hostile corpus (tests/security/corpus.py) against every form
field, query parameter, path parameter and API field of every route in the URL map.

For every request: never a 5xx; no payload's markup comes back unescaped; no header injected;
a refusal (4xx) changes nothing in the database; GETs never change it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from tests.security import corpus
from tests.security.figures import count_attack
from tests.security.world import (
    ROUTES,
    Actor,
    Route,
    World,
    WriteWatcher,
    build_world,
    digest,
    route_for,
    routes_of,
)

ALL_ROUTES = sorted(ROUTES)  # the catalogue; it and the URL map agree (the test below)
ROLE_OF = {"anonymous": "anonymous", "client": "client", "manager": "manager", "api": "api"}


def test_every_route_is_described(app: Flask) -> None:
    """Every route of the URL map is in the catalogue (tests/support/routes.py), and nothing
    else: a new route is described there, a removed one taken out."""
    served = set(routes_of(app))
    assert not served - set(ROUTES), f"not in the catalogue: {sorted(served - set(ROUTES))}"
    assert not set(ROUTES) - served, f"no longer served: {sorted(set(ROUTES) - served)}"
    assert len(corpus.STRINGS) >= 40


class Attack:
    """Sends the corpus at one route and collects what went wrong."""

    def __init__(self, app: Flask, endpoint: str, route: Route, world: World) -> None:
        self.app = app
        self.endpoint = endpoint
        self.route = route
        self.world = world
        self.actor = Actor(app, ROLE_OF[route.owner], world)  # type: ignore[arg-type]
        self.problems: list[str] = []
        self.baseline = digest(app)
        self.writes = WriteWatcher(app)

    def check(self, target: str, payload: Any, response: TestResponse) -> None:
        status = response.status_code
        count_attack(f"{self.endpoint} {self.route.method} {target}", status)
        where = f"{self.route.method} {self.endpoint} {target}={_short(payload)}"
        if status >= 500:
            self.problems.append(f"{where}: HTTP {status}")
        body = response.get_data()
        response.close()
        if response.mimetype == "text/html" and isinstance(payload, str):
            for markup in corpus.MARKUP:
                if markup in payload and markup.encode() in body:
                    self.problems.append(f"{where}: markup reflected unescaped")
        if "hacked" in response.headers.get("Set-Cookie", ""):
            self.problems.append(f"{where}: header injected")
        if self.writes.committed:
            if 400 <= status < 500 or not self.route.changes_data:
                self.problems.append(f"{where}: data changed by HTTP {status}")
            self.writes.committed = 0
            if self.route.changes_data and not self.route.keeps_session:
                self.actor.sign_in()  # a logout, or a state that ends the attack's premise
                self.writes.committed = 0

    def run(self) -> list[str]:
        try:
            self._run()
        finally:
            self.writes.close()
        if not self.route.changes_data and digest(self.app) != self.baseline:
            self.problems.append(f"{self.route.method} {self.endpoint}: data changed")
        return self.problems

    def _run(self) -> None:
        route = self.route
        for name in [*route.form, "unexpected_field"] if route.method != "GET" else []:
            whole = name in route.form and name not in route.alike
            payloads = corpus.STRINGS if whole else corpus.SAMPLE
            for payload in payloads:
                pairs = [(k, v) for k, v in route.form.items() if k != name] + [(name, payload)]
                self.check(
                    f"form:{name}",
                    payload,
                    self.actor.send(self.app, self.endpoint, route, form=pairs),
                )
            duplicated = [*route.form.items(), (name, corpus.MARKUP[0])]
            self.check(
                f"form:{name}",
                "duplicated",
                self.actor.send(self.app, self.endpoint, route, form=duplicated),
            )
            missing = [(k, v) for k, v in route.form.items() if k != name]
            self.check(
                f"form:{name}",
                "missing",
                self.actor.send(self.app, self.endpoint, route, form=missing),
            )
        if route.method != "GET" and route.owner != "api":
            no_csrf = self.actor.send(self.app, self.endpoint, route, csrf=False)
            self.check("csrf", "absent", no_csrf)
            if no_csrf.status_code != 400 and route.owner != "anonymous":
                self.problems.append(f"{route.method} {self.endpoint}: no CSRF token accepted")
        for name in [*route.query, "unexpected"]:
            for payload in corpus.STRINGS if name in route.query else corpus.SAMPLE:
                query = [(k, v) for k, v in route.query.items() if k != name] + [(name, payload)]
                self.check(
                    f"query:{name}",
                    payload,
                    self.actor.send(self.app, self.endpoint, route, query=query),
                )
        for name in route.path:
            for segment in corpus.PATH_SEGMENTS:
                response = self.actor.send(self.app, self.endpoint, route, path={name: segment})
                self.check(f"path:{name}", segment, response)
        if route.json is not None:
            self._json(route.json)

    def _json(self, valid: dict[str, Any]) -> None:
        for name, payload, body in _json_variants(valid):
            raw = json.dumps(body, ensure_ascii=True).encode()
            response = self.actor.send(self.app, self.endpoint, self.route, json_body=raw)
            self.check(f"json:{name}", payload, response)
        for content_type, raw in corpus.RAW_BODIES:
            response = self.actor.send(
                self.app, self.endpoint, self.route, json_body=raw, content_type=content_type
            )
            self.check("json:body", f"{content_type} {raw[:30]!r}", response)


def _json_variants(valid: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    values = [*corpus.STRINGS, *corpus.JSON_VALUES]
    for name in [*valid, "unexpected"]:
        for payload in values if name in valid else corpus.SAMPLE:
            yield name, payload, {**valid, name: payload}
        yield name, "missing", {k: v for k, v in valid.items() if k != name}
    lines = valid.get("lines")
    if isinstance(lines, list) and lines:
        line = lines[0]
        for name in [*line, "unexpected"]:
            for payload in values if name in line else corpus.SAMPLE:
                yield f"lines/0/{name}", payload, {**valid, "lines": [{**line, name: payload}]}
        period = line.get("period") or {}
        for name in period:
            for payload in values:
                changed = {**line, "period": {**period, name: payload}}
                yield f"lines/0/period/{name}", payload, {**valid, "lines": [changed]}


def _short(payload: Any) -> str:
    text = repr(payload)
    return text if len(text) < 60 else text[:57] + "..."


@pytest.mark.parametrize("endpoint, method", ALL_ROUTES, ids=[f"{m} {e}" for e, m in ALL_ROUTES])
def test_the_corpus_against_every_route(
    app: Flask, database: None, endpoint: str, method: str
) -> None:
    world = build_world(app)
    route = route_for(app, endpoint, method)
    problems = Attack(app, endpoint, route, world).run()
    assert not problems, "\n".join(problems[:40])
