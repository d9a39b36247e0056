"""`make serve` starts gunicorn with the repository's config, and it serves the cabinet; while
X-Forwarded-For is trusted it listens on loopback only, unless told the address is private."""

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


def _env(app: Flask, port: int, **more: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if k not in ("HOST", "ALLOW_PUBLIC_BIND")},
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "a-production-like-secret-key-for-this-test-only",
        "CABINET_ENV": "production",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/13",  # production refuses memory://
        "RATELIMIT_KEY_PREFIX": f"serve-test-{port}",
        "WEB_CONCURRENCY": "2",
        "TRUSTED_PROXIES": "1",  # as behind nginx
        **more,
    }


def _stop(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGTERM)  # gunicorn's graceful shutdown
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture
def served(app: Flask, database: None, tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    log = tmp_path / "serve.log"
    env = _env(app, port, HOST="0.0.0.0")  # noqa: S104 - make run's HOST, not make serve's
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "serve", f"SERVE_PORT={port}"],
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
        _stop(process)
    text = log.read_text()
    assert f"Listening at: http://127.0.0.1:{port}" in text, text  # loopback by default
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


@pytest.mark.slow
def test_a_public_bind_is_refused_while_x_forwarded_for_is_trusted(
    app: Flask, database: None
) -> None:
    """Reachable directly, gunicorn would let anyone name any address in X-Forwarded-For and
    pass every per-IP limit with a new one each time: with TRUSTED_PROXIES=1 it does not start."""
    port = _free_port()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "serve", "SERVE_HOST=0.0.0.0", f"SERVE_PORT={port}"],
        cwd=PROJECT_ROOT,
        env=_env(app, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=BOOT_SECONDS)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise AssertionError("gunicorn started on 0.0.0.0 with TRUSTED_PROXIES=1") from None
    text = output.decode()
    assert process.returncode != 0, text
    assert (
        "TRUSTED_PROXIES=1: кабинет верит заголовку X-Forwarded-For, поэтому gunicorn должен "
        f"слушать только loopback (127.0.0.1) или unix-сокет, а не 0.0.0.0:{port}"
    ) in text
    assert "ALLOW_PUBLIC_BIND=1" in text
    assert "Listening at" not in text


def _starts(args: list[str], env: dict[str, str], log: Path, listening: str) -> None:
    """`make serve ARGS` starts and logs «Listening at: LISTENING»; then it is stopped."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "serve", *args],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + BOOT_SECONDS
        while f"Listening at: {listening}" not in log.read_text():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)  # a starting server: there is no event to wait for
    finally:
        _stop(process)


@pytest.mark.slow
def test_a_private_address_is_allowed_when_said_so(
    app: Flask, database: None, tmp_path: Path
) -> None:
    """ALLOW_PUBLIC_BIND=1: the operator vouches that only the proxy reaches this address."""
    port = _free_port()
    args = ["SERVE_HOST=0.0.0.0", f"SERVE_PORT={port}"]  # noqa: S104 - the case under test
    env = _env(app, port, ALLOW_PUBLIC_BIND="1")
    _starts(args, env, tmp_path / "serve.log", f"http://0.0.0.0:{port}")


@pytest.mark.slow
def test_a_unix_socket_needs_no_permission(app: Flask, database: None, tmp_path: Path) -> None:
    """A unix socket is reached from this host only: allowed with TRUSTED_PROXIES=1."""
    sock = tmp_path / "gunicorn.sock"
    _starts([f"SERVE_BIND=unix:{sock}"], _env(app, 0), tmp_path / "serve.log", f"unix:{sock}")
