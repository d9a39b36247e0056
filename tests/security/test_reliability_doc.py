"""docs/reliability.md is written by the suite's report (`make reliability`,
tests/reliability_report.py), never by hand: these tests fail when it is stale — a route of
the app the attack suite never reported on, a route reported that the app no longer has, or
limits whose numbers have changed since. Run `make reliability` again to renew it."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask

from cabinet import config
from tests.security.world import routes_of

DOC = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
_TARGET = re.compile(r"^\| `([\w.]+) ([A-Z]+) [^`]+` \| \d+ \|$")
_LIMIT = re.compile(r"^\| `([A-Z_]+)` \| (.+) \|$")


def _section(title: str) -> list[str]:
    text = DOC.read_text()
    assert title in text, f"docs/reliability.md has no «{title}»: run `make reliability`"
    body = text.split(title, 1)[1]
    return body.split("\n#", 1)[0].splitlines()


def test_its_routes_are_the_apps_url_map(app: Flask) -> None:
    reported = {
        (match.group(1), match.group(2))
        for line in _section("### Inputs tried per field")
        if (match := _TARGET.match(line))
    }
    routes = set(routes_of(app))
    assert not routes - reported, "routes the report misses (run `make reliability`): " + ", ".join(
        f"{m} {e}" for e, m in sorted(routes - reported)
    )
    assert not reported - routes, (
        "routes the app no longer has (run `make reliability`): "
        + ", ".join(f"{m} {e}" for e, m in sorted(reported - routes))
    )


def test_its_limits_are_the_defaults() -> None:
    reported = {
        match.group(1): match.group(2)
        for line in _section("## Limits and their numbers")
        if (match := _LIMIT.match(line))
    }
    defaults = config.from_environment({})
    assert set(config.LIMIT_DEFAULTS) <= set(reported), "run `make reliability`"
    for name, shown in reported.items():
        assert str(defaults[name]) == shown, f"{name}: run `make reliability`"
