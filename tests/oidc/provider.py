"""A real OpenID Provider for the tests: panva's oidc-provider from npm (exact version in
package-lock.json, installed into node_modules/ by `make test`'s `npm ci`), run by Node with
the configuration in tests/oidc/provider.mjs on a free loopback port.

Without Node or the package the tests that need it are skipped with a loud notice (with
CI=true they fail instead). `sign_in_at_provider` plays the person at the provider's own login
form over HTTP, as a browser would, and returns where the provider sends the browser back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import IO
from urllib.parse import urljoin

import pytest
import requests

from tests.conftest import output_dir

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "oidc" / "provider.mjs"
PACKAGE = ROOT / "node_modules" / "oidc-provider" / "package.json"
CLIENT_ID = "cabinet"
CLIENT_SECRET = "cabinet-secret-for-tests-only-0123456789"
MANAGER_ROLE = "pbx-referral-manager"
_FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


@dataclass(frozen=True)
class Provider:
    issuer: str

    def settings(self, cabinet_url: str) -> dict[str, object]:
        """The cabinet's settings for this provider, the cabinet answering at `cabinet_url`."""
        return {
            "OIDC_ISSUER": self.issuer,
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "CABINET_BASE_URL": cabinet_url,
        }


def _missing(what: str) -> None:
    message = (
        f"{what}: тесты входа через OpenID Connect ПРОПУЩЕНЫ "
        "(нужны Node.js и `npm ci`, как в make test)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message + " — в CI они обязательны")
    pytest.skip(message)


@contextmanager
def running_provider() -> Iterator[Provider]:
    """The provider in a process of its own, for as long as the block runs."""
    node = shutil.which("node")
    if node is None:
        _missing("Node.js не найден")
    if not PACKAGE.exists():
        _missing("пакет oidc-provider не установлен в node_modules/")
    settings = json.dumps({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET})
    log = output_dir() / f"oidc-provider-{os.getpid()}.log"  # its warnings and errors
    with log.open("w") as errors:
        with _started(node, settings, errors) as provider:
            yield provider


@contextmanager
def _started(node: str, settings: str, errors: IO[str]) -> Iterator[Provider]:
    process = subprocess.Popen(
        [str(node), str(SCRIPT), settings],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once it listens
        if not line:
            raise RuntimeError(f"the provider did not start (exit {process.wait(10)})")
        yield Provider(json.loads(line)["issuer"])
    finally:
        assert process.stdin is not None
        process.stdin.close()  # its signal to stop
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


def sign_in_at_provider(
    authorize_url: str, login: str, browser: requests.Session | None = None
) -> str:
    """Type `login` (any password) into the provider's form; the address the provider then
    sends the browser back to (the cabinet's callback, with `code` and `state`)."""
    session = browser or requests.Session()
    url = authorize_url
    for _ in range(10):
        response = session.get(url, allow_redirects=False, timeout=10)
        if response.status_code in (302, 303):
            location = urljoin(url, response.headers["Location"])
            if not location.startswith(authorize_url.split("/auth")[0]):
                return location
            url = location
            continue
        assert response.status_code == 200, response.text
        action = _FORM_ACTION.search(response.text)
        assert action, response.text
        posted = session.post(
            urljoin(url, unescape(action.group(1))),
            data={"prompt": "login", "login": login, "password": "any"},
            allow_redirects=False,
            timeout=10,
        )
        assert posted.status_code in (302, 303), posted.text
        url = urljoin(url, posted.headers["Location"])
        if not url.startswith(authorize_url.split("/auth")[0]):
            return url
    raise AssertionError("the provider never sent the browser back")
