"""Scale-out for real: two cabinets under gunicorn behind nginx from Debian on loopback,
sharing PostgreSQL and Redis. A session started through one server works on the other, a
limit counts requests from both, the demo time machine moved on one is seen on the other,
and when one server is killed under load the other carries on (nginx passes the request on).

`make test` installs nginx with apt-get when run as root; elsewhere this test is skipped
with a notice."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from cabinet.auth.services import create_manager
from cabinet.db import db
from tests.factories import make_client
from tests.load.harness import CSRF, Browser, Gunicorn, Tally, free_port, wait_for
from tests.security.figures import record_fault
from tests.web.conftest import PASSWORD

pytestmark = [pytest.mark.load, pytest.mark.slow]

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIG = """
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    upstream cabinet {{
        server 127.0.0.1:{first} max_fails=1 fail_timeout=30s;
        server 127.0.0.1:{second} max_fails=1 fail_timeout=30s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 256k;
        location / {{
            proxy_pass http://cabinet;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_connect_timeout 1s;
            proxy_read_timeout 20s;
        }}
    }}
}}
"""


def nginx_or_skip() -> None:
    if not os.path.exists(NGINX):
        pytest.skip(
            "!!! nginx не установлен: тест двух серверов за балансировщиком ПРОПУЩЕН "
            "(make test ставит nginx через apt-get, если запущен от root)"
        )
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("два сервера с общей базой — только на PostgreSQL (TEST_DATABASE_URL)")


class Nginx:
    def __init__(self, root: Path, first: int, second: int) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root.mkdir(parents=True, exist_ok=True)
        config = root / "nginx.conf"
        config.write_text(CONFIG.format(root=root, first=first, second=second, port=self.port))
        self.process = subprocess.Popen(
            [NGINX, "-c", str(config), "-p", str(root), "-e", str(root / "error.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.url + "/login")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture
def two_servers(
    app: Flask, database: None, tmp_path: Path
) -> Iterator[tuple[Nginx, list[Gunicorn]]]:
    nginx_or_skip()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "two-servers-secret-key-long-enough-000",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
        "RATELIMIT_KEY_PREFIX": f"two-{uuid.uuid4().hex}",
        "LOGIN_ACCOUNT_FAILURE_LIMIT": "4 per minute",
        "DEMO_MODE": "1",
        "TRUSTED_PROXIES": "1",
    }
    servers = [Gunicorn(env, workers=2), Gunicorn(env, workers=2)]
    balancer = Nginx(tmp_path / "nginx", servers[0].port, servers[1].port)
    try:
        yield balancer, servers
    finally:
        balancer.stop()
        for server in servers:
            server.stop()


def until(event: Callable[[], bool], failure: str, bound: float = 60) -> None:
    """Wait for an event; `bound` is only how long before the test gives up on it."""
    deadline = time.monotonic() + bound
    while not event():
        assert time.monotonic() < deadline, failure
        time.sleep(0.05)


def test_two_servers_behind_nginx_share_sessions_limits_and_the_clock(
    app: Flask, two_servers: tuple[Nginx, list[Gunicorn]]
) -> None:
    balancer, servers = two_servers
    now = datetime.now(UTC)
    with app.app_context():
        make_client(
            2001,
            registered_at=now - timedelta(days=2),
            email="c2001@two-servers.ru",
            password=PASSWORD,
        )
        make_client(
            2002,
            registered_at=now - timedelta(days=2),
            email="c2002@two-servers.ru",
            password=PASSWORD,
        )
        create_manager("pm@two-servers.ru", PASSWORD, "Два сервера", now)
        db.session.remove()
    tally = Tally()

    # A session made through the balancer works on each server directly.
    browser = Browser(balancer.url, tally)
    browser.sign_in("c2001@two-servers.ru", PASSWORD)
    for server in servers:
        direct = Browser(server.url, tally)
        direct.http.cookies = browser.http.cookies
        assert direct.request("GET", "/referral").status_code == 200

    # A limit counts the guesses that reached either server.
    statuses = []
    for n in range(6):
        guesser = Browser(servers[n % 2].url, tally)
        page = guesser.request("GET", "/login")
        found = CSRF.search(page.text)
        assert found, page.status_code
        token = found[1]
        statuses.append(
            guesser.request(
                "POST",
                "/login",
                data={"email": "c2002@two-servers.ru", "password": "wrong", "csrf_token": token},
            ).status_code
        )
    assert statuses == [422, 422, 422, 422, 429, 429]

    # The time machine moved on one server is the time on the other.
    manager = Browser(servers[0].url, tally)
    manager.sign_in("pm@two-servers.ru", PASSWORD, login="/manage/login")
    manager.refresh_token("/manage/dashboard")
    assert (
        manager.post("/manage/clock", {"jump": "week", "next": "/manage/dashboard"}).status_code
        == 302
    )
    seen = Browser(servers[1].url, tally)  # a session of its own on the other server
    seen.sign_in("pm@two-servers.ru", PASSWORD, login="/manage/login")
    shown = (now + timedelta(days=7)).astimezone(app.extensions["context"].timezone)
    banner = f'<b id="demo-now">{shown:%d.%m.%Y}'
    # (each process re-reads the offset at most once a second)
    until(
        lambda: banner in seen.request("GET", "/manage/dashboard").text,
        "the other server never saw the moved clock",
    )
    manager.post("/manage/clock", {"jump": "now", "next": "/manage/dashboard"})

    # One server killed under load: the other carries on.
    stop = threading.Event()
    load = Tally()

    def read() -> None:
        reader = Browser(balancer.url, load)
        reader.http.cookies = browser.http.cookies
        while not stop.is_set():
            reader.request("GET", "/referral?tab=history")

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    served_by_both = 40  # nginx alternates: both servers are answering
    until(lambda: load.requests >= served_by_both, "the readers never got going")
    servers[0].kill()
    killed_at = load.requests
    # The other server carries the load: as many answers again after the kill.
    until(lambda: load.requests >= killed_at + served_by_both, "no answers after the kill")
    stop.set()
    for thread in readers:
        thread.join(timeout=30)
    after_kill = load.requests - killed_at
    record_fault(
        "two_servers_nginx",
        requests=load.requests + tally.requests,
        server_errors=load.server_errors + tally.server_errors,
        requests_after_one_server_killed=after_kill,
        statuses_after_kill=dict(load.statuses),
        shared=["sessions", "limits (Redis)", "demo clock (PostgreSQL)"],
    )
    assert after_kill > 0
    assert load.server_errors == 0, load.statuses
    assert set(load.statuses) == {200}, load.statuses
