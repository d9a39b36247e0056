"""What every page state a person meets must pass: axe-core, its width, a clean console, and
the Nu Html Checker.

axe-core and vnu.jar come from the npm registry, pinned in package-lock.json and installed by
`make test` (`npm ci`) into node_modules/; never from a CDN.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import ConsoleMessage, Page, expect

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
VNU = ROOT / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
# WCAG 2.0, 2.1 and 2.2, levels A and AA, and axe's best practices.
_CLIENT_ERROR = re.compile(r"Failed to load resource: the server responded with a status of 4\d\d")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice"]


def _missing(tool: str, hint: str) -> None:
    message = f"{tool} не установлен ({hint}): проверки страниц ПРОПУЩЕНЫ"
    if os.environ.get("CI") == "true":
        pytest.fail(message + " — в CI они обязательны")
    pytest.skip(message)


@dataclass
class ConsoleLog:
    """Errors a page printed to the console (a CSP refusal is one) and uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            # A form answered 422 (or a refused request's 4xx) is the page working as designed.
            if message.type == "error" and not _CLIENT_ERROR.match(message.text):
                self.errors.append(message.text)

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (the dialog open, errors shown…).

    The script is evaluated through the DevTools protocol, so the page's own CSP (script-src
    'self') stays in force for everything else."""
    if not AXE.exists():
        _missing("axe-core", "npm ci")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        """tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                       resultTypes: ['violations']})""",
        AXE_TAGS,
    )
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"][:5]:
            lines.append(f"    {node['target']}: {node['failureSummary']}".replace("\n", " "))
    return "\n".join(lines)


class HtmlChecker:
    """The Nu Html Checker (vnu.jar, the W3C validator) as a local HTTP service on loopback."""

    def __init__(self, url: str) -> None:
        self.url = url

    def errors(self, html: str) -> list[str]:
        response = requests.post(
            self.url,
            params={"out": "json"},
            data=html.encode("utf-8"),
            headers={"Content-Type": "text/html; charset=utf-8"},
            timeout=60,
        )
        response.raise_for_status()
        return [
            f"{m.get('lastLine')}:{m.get('firstColumn')} {m['message']} — {m.get('extract', '')!r}"
            for m in response.json()["messages"]
            if m["type"] == "error" or m.get("subType") == "warning"
        ]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def html_checker() -> Iterator[HtmlChecker]:
    java = shutil.which("java")
    if java is None or not VNU.exists():
        _missing("Java или vnu.jar", "apt-get install default-jre-headless; npm ci")
        raise AssertionError("unreachable")
    port = _free_port()
    process = subprocess.Popen(
        [
            java,
            "-Xss1024k",
            "-Dnu.validator.servlet.bind-address=127.0.0.1",
            "-cp",
            str(VNU),
            "nu.validator.servlet.Main",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:  # the JVM loads its schemas before it listens: poll the port, bounded
            try:
                requests.get(url, timeout=10).close()
                break
            except requests.RequestException:  # not listening yet, or still loading its schemas
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the Nu Html Checker did not start") from None
                time.sleep(0.2)
        yield HtmlChecker(url)
    finally:
        process.terminate()
        process.wait(timeout=30)


# The elements that reach past the viewport's right edge, innermost first (for the message).
WIDEST = """width => [...document.querySelectorAll("body *")]
  .filter(e => e.getBoundingClientRect().right > width + 0.5)
  .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > width + 0.5))
  .slice(0, 5).map(e => e.tagName.toLowerCase() + "." + [...e.classList].join(".") +
    " «" + (e.textContent || "").trim().slice(0, 30) + "» " +
    Math.round(e.getBoundingClientRect().right))"""


@dataclass
class PageChecks:
    """Runs every check on a page state and names the state in the failure."""

    html: HtmlChecker
    log: ConsoleLog
    seen: list[str] = field(default_factory=list)

    def __call__(self, page: Page, state: str) -> None:
        self.seen.append(state)
        # Check the settled page, not one halfway through an htmx swap (a locator: the page's
        # CSP forbids the eval that wait_for_function would use).
        expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
        width = page.viewport_size["width"] if page.viewport_size else 0
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, (
            f"{state} at {width} px: the page is {scroll_width} px wide; widest: "
            + str(page.evaluate(WIDEST, width))
        )
        violations = axe_violations(page)
        assert not violations, f"{state} at {width} px, axe-core:\n{describe(violations)}"
        assert not self.log.errors, f"{state} at {width} px, console: {self.log.errors}"
        errors = self.html.errors(page.content())
        assert not errors, f"{state} at {width} px, HTML:\n" + "\n".join(errors)
