"""`make serve` starts gunicorn with the repository's config, and it serves the cabinet."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from cabinet.config import PROJECT_ROOT

BOOT_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(app: Flask, database: None, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "a-production-like-secret-key-for-this-test-only",
        "CABINET_ENV": "production",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/13",  # production refuses memory://
        "RATELIMIT_KEY_PREFIX": f"serve-test-{port}",
        "WEB_CONCURRENCY": "2",
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "serve", "HOST=127.0.0.1", f"SERVE_PORT={port}"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # make, its shell and gunicorn: one group to stop
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + BOOT_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # bound, workers still booting
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)  # polling a starting server: there is no event to wait for
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn's graceful shutdown
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    text = log.read_text()
    assert "Shutting down: Master" in text, text


@pytest.mark.slow
def test_make_serve_runs_gunicorn_and_serves_pages(served: str) -> None:
    page = requests.get(f"{served}/login", timeout=10)
    assert page.status_code == 200
    assert "Войти" in page.text
    assert page.headers["Content-Encoding"] in ("gzip", "br")  # requests asks for gzip
    assert requests.get(f"{served}/readyz", timeout=10).text == "ok\n"
    stylesheet = re.search(r'href="(/static/cabinet\.[0-9a-f]{12}\.css)"', page.text)
    assert stylesheet is not None
    css = requests.get(f"{served}{stylesheet.group(1)}", timeout=10)
    assert css.status_code == 200 and "immutable" in css.headers["Cache-Control"]
    assert "Set-Cookie" not in css.headers
    # The form's CSRF token lives in the session: in production its cookie is Secure (TLS
    # ends at the proxy) and HttpOnly.
    assert 'name="csrf_token"' in page.text
    assert "Secure" in page.headers["Set-Cookie"]
    assert "HttpOnly" in page.headers["Set-Cookie"]
