"""Metrics and logs of the cabinet as production runs it: gunicorn with 2 workers and
gunicorn.conf.py, Prometheus' multiprocess mode, JSON logs, and the delivery worker beside it.

One run for the module: clients sign in and apply codes and a member invites friends, from
several threads at once (so both workers answer), then the delivery worker makes a pass.
Then: `/metrics` sums both workers and the delivery worker, and matches the database; each
request, static files included, has one line, which says what an access log says (gunicorn's
own is off); no line of any of the three logs holds an unmasked contact; Debian's Prometheus
scrapes it (skipped with a notice where it is not installed; `make test` installs it as root).
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from cabinet.clock import Context, SystemClock
from cabinet.db import db
from cabinet.invitations import notices
from cabinet.invitations.models import Invitation
from cabinet.referrals import services
from cabinet.referrals.models import Referral
from cabinet.simulator.server import SimulatorServer
from tests.conftest import empty_tables
from tests.factories import make_client
from tests.load.harness import BIN, CSRF, ROOT, free_port, wait_for
from tests.log_audit import unmasked
from tests.servers import running
from tests.web.conftest import PASSWORD
from tests.web.test_metrics import Samples, parse, value

pytestmark = pytest.mark.slow

TOKEN = "metrics-token-for-this-test-0123456789"
GATEWAY_TOKEN = "gateway-token"
FRIENDS = 12
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


@dataclass
class Run:
    base: str
    metrics_dir: Path
    access_log: Path
    app_log: Path
    worker_log: Path
    applied_posts: int
    stale_file: Path
    gunicorn: subprocess.Popen[bytes]

    def scrape(self) -> Samples:
        response = requests.get(
            f"{self.base}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
        )
        assert response.status_code == 200, response.text
        return parse(response.text)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


class _Browser:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()
        self.csrf = ""

    def sign_in(self, email: str) -> None:
        page = self.http.get(f"{self.base}/login", timeout=20)
        token = CSRF.search(page.text)
        assert token
        response = self.http.post(
            f"{self.base}/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token[1]},
            timeout=20,
            allow_redirects=False,
        )
        assert response.status_code == 302, response.text
        found = CSRF.search(self.http.get(f"{self.base}/referral", timeout=20).text)
        assert found
        self.csrf = found[1]

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.http.post(
            f"{self.base}{path}",
            data={**data, "csrf_token": self.csrf},
            timeout=20,
            allow_redirects=False,
        )


@pytest.fixture(scope="module")
def run(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("observed")
    now = datetime.now(UTC)
    context = Context(SystemClock(), app.extensions["context"].timezone)
    with app.app_context():
        empty_tables()
        make_client(
            400,
            "АльфаТелеком",
            registered_at=now - timedelta(days=90),
            email="info@alfatelecom.ru",
            phone="+79161234567",
            password=PASSWORD,
        )
        code = services.join(context.at(now - timedelta(days=60)), 400).code
        # The friends' activations would each queue the member's notice «Клиент … применил ваш
        # код»: this world counts invitations (notices: tests/invitations/test_applied_notice.py).
        notices.set_switch(400, on=False)
        for n in range(FRIENDS + 1):
            make_client(
                500 + n,
                registered_at=now - timedelta(days=1),
                email=f"friend{n}@example.ru",
                phone=f"+7916555{n:04d}",
                password=PASSWORD,
            )
        db.session.remove()

    metrics_dir = root / "metrics"
    metrics_dir.mkdir()
    stale = metrics_dir / "counter_999999999.db"  # a process long gone (no such pid)
    stale.write_bytes(b"\0" * 16)
    gateway = SimulatorServer(("127.0.0.1", 0), GATEWAY_TOKEN)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "a-secret-key-for-the-observability-test-only",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "METRICS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        "SMS_GATEWAY_URL": "",
        "EMAIL_GATEWAY_URL": "",
        "GATEWAY_TOKEN": GATEWAY_TOKEN,
    }
    access_log, app_log, worker_log = root / "access.log", root / "app.log", root / "worker.log"
    with access_log.open("wb") as out, app_log.open("wb") as err:
        gunicorn = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=err,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz", 60)
        _both_workers_answer(base, app_log)
        applied = _traffic(base, code)
        with running(gateway):
            worker_env = {
                **env,
                "SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway.server_port}/sms",
                "EMAIL_GATEWAY_URL": f"http://127.0.0.1:{gateway.server_port}/email",
            }
            with worker_log.open("wb") as log:
                subprocess.run(
                    [str(BIN / "flask"), "invitations", "deliver"],
                    cwd=ROOT,
                    env=worker_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    timeout=60,
                    check=True,
                )
        yield Run(base, metrics_dir, access_log, app_log, worker_log, applied, stale, gunicorn)
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=30)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait()
        with app.app_context():
            empty_tables()
            db.session.remove()


def _both_workers_answer(base: str, app_log: Path) -> None:
    """Until each worker has answered a request (the second may still be loading the app)."""
    deadline = time.monotonic() + 60
    while True:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda _: requests.get(f"{base}/healthz", timeout=10), range(8)))
        pids = {line["pid"] for line in _lines(app_log) if line["logger"] == "cabinet.request"}
        if len(pids) == 2:
            return
        assert time.monotonic() < deadline, app_log.read_text()
        time.sleep(0.2)  # a worker booting: there is no event to wait for


def _traffic(base: str, code: str) -> int:
    """Friends apply the code (and one types a wrong one), the member invites, visitors look
    for contacts in the query string; four at a time. Returns the applications made."""

    def friend(n: int) -> int:
        browser = _Browser(base)
        browser.sign_in(f"friend{n}@example.ru")
        typed = code if n < FRIENDS else "0000000aa"
        response = browser.post("/referral/apply", {"code": typed})
        assert response.status_code == (303 if n < FRIENDS else 422), response.text
        return 1

    def member() -> None:
        browser = _Browser(base)
        browser.sign_in("info@alfatelecom.ru")
        for recipient in ("+79031234501", "+7 903 123-45-02", "8 903 123 45 03"):
            response = browser.post(
                "/referral/invite", {"channel": "sms", "recipient": recipient, "consent": "y"}
            )
            assert response.status_code == 303, response.text
        response = browser.post(
            "/referral/invite",
            {"channel": "email", "recipient": "colleague@example.ru", "consent": "y"},
        )
        assert response.status_code == 303, response.text

    def visitor(n: int) -> None:
        requests.get(
            f"{base}/manage/clients",
            params={"q": ("info@alfatelecom.ru", "+79161234567")[n % 2]},
            headers={"X-Request-Id": f"visitor-{n}"},
            timeout=20,
            allow_redirects=False,
        )
        requests.get(f"{base}/unsubscribe/friend{n}%40example.ru", timeout=20)
        requests.get(
            f"{base}/static/cabinet.css",
            headers={"X-Request-Id": f"styles-{n}", "Referer": f"{base}/login"},
            timeout=20,
        )

    with ThreadPoolExecutor(4) as pool:
        jobs = [pool.submit(friend, n) for n in range(FRIENDS + 1)]
        jobs.append(pool.submit(member))
        jobs += [pool.submit(visitor, n) for n in range(8)]
        results = [job.result() for job in jobs]
    return sum(r for r in results if isinstance(r, int)) - 1  # the wrong code applied nothing


def _database_counts(app: Flask) -> tuple[int, Counter[tuple[str, str]]]:
    with app.app_context():
        referrals = db.session.scalar(select(func.count()).select_from(Referral)) or 0
        rows = db.session.execute(
            select(Invitation.channel, Invitation.status, func.count()).group_by(
                Invitation.channel, Invitation.status
            )
        ).all()
        db.session.remove()
    return referrals, Counter({(c, s): n for c, s, n in rows})


def test_the_metrics_sum_every_process_and_match_the_database(app: Flask, run: Run) -> None:
    samples = run.scrape()
    referrals, invitations = _database_counts(app)
    assert referrals == run.applied_posts == FRIENDS
    assert value(samples, "cabinet_referral_codes_applied_total") == referrals
    assert value(samples, "cabinet_referral_codes_refused_total", reason="CodeNotFound") == 1
    apply_lines = [
        line
        for line in _lines(run.app_log)
        if line.get("endpoint") == "referrals.apply_code" and line["logger"] == "cabinet.request"
    ]
    assert len(apply_lines) == FRIENDS + 1
    # Both workers answered, and the histogram counts every request of both that reached the
    # app (this scrape is counted once answered: it is not in its own numbers); the static
    # files are served before it.
    answered = [
        line
        for line in _lines(run.app_log)
        if line["logger"] == "cabinet.request" and line["endpoint"] is not None
    ]
    assert len({line["pid"] for line in answered}) == 2
    total = sum(v for (name, _), v in samples.items() if name.endswith("seconds_count"))
    assert total == len(answered) - 1
    count = "cabinet_http_request_duration_seconds_count"
    assert (
        value(samples, count, endpoint="referrals.apply_code", method="POST", status_class="3xx")
        == FRIENDS
    )
    assert (
        value(samples, count, endpoint="referrals.apply_code", method="POST", status_class="4xx")
        == 1
    )
    # The delivery worker, another process, counted into the same directory.
    assert invitations == Counter({("sms", "sent"): 3, ("email", "sent"): 1})
    for channel, queued in (("sms", 3), ("email", 1)):
        for event in ("queued", "sent", "delivered"):
            name = "cabinet_invitations_total"
            assert value(samples, name, channel=channel, event=event) == queued
        assert value(samples, "cabinet_invitations_total", channel=channel, event="failed") == 0
    assert value(samples, "cabinet_delivery_passes_total", result="work") == 1
    assert value(samples, "cabinet_outbox_depth", status="queued") == 0
    # Each worker's pool, summed over the live workers; none is held between requests.
    assert value(samples, "cabinet_db_pool_checked_out") <= 1  # the scrape's own, if any
    # Files of the two workers, the delivery worker and the master; the stale one removed.
    assert not run.stale_file.exists()
    pids = {f.stem.rsplit("_", 1)[-1] for f in run.metrics_dir.glob("*.db")}
    assert len(pids) >= 3


def test_metrics_need_the_token(run: Run) -> None:
    refused = requests.get(f"{run.base}/metrics", timeout=10)
    assert refused.status_code == 401
    assert "cabinet_" not in refused.text


def test_each_request_has_one_line_that_says_what_an_access_log_says(run: Run) -> None:
    assert not [line for line in _lines(run.access_log) if line["logger"] == "gunicorn.access"]
    answered = [line for line in _lines(run.app_log) if line["logger"] == "cabinet.request"]
    assert len(answered) >= 60
    assert len({line["request_id"] for line in answered}) == len(answered)
    for line in answered:
        assert line["remote"] == "127.0.0.1", line
        assert line["path"].startswith("/") and line["duration_ms"] > 0, line
        assert line["user_agent"].startswith("python-requests/"), line
        assert line["bytes"] is None or line["bytes"] >= 0, line
    # A caller's request id is kept end to end, and the route names the rule the path matched.
    visitors = [line for line in answered if str(line["request_id"]).startswith("visitor-")]
    assert len(visitors) == 8 and {line["status"] for line in visitors} == {302}
    assert {line["route"] for line in visitors} == {"/manage/clients"}
    assert all(line["path"].startswith("/manage/clients?q=") for line in visitors)
    applied = [line for line in answered if line["endpoint"] == "referrals.apply_code"]
    assert {line["route"] for line in applied} == {"/referral/apply"}
    assert all(line["method"] == "POST" and line["bytes"] is not None for line in applied)
    # Static files are served before Flask: their lines have the path, the size, the referer.
    styles = [line for line in answered if str(line["request_id"]).startswith("styles-")]
    assert len(styles) == 8, styles
    for line in styles:
        assert (line["path"], line["status"], line["endpoint"]) == (
            "/static/cabinet.css",
            200,
            None,
        )
        assert line["bytes"] == (ROOT / "static" / "cabinet.css").stat().st_size
        assert line["referer"] == f"{run.base}/login"


def test_gunicorns_own_access_line_is_off_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("GUNICORN_ACCESS_LOG", raising=False)
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["accesslog"] is None
    monkeypatch.setenv("GUNICORN_ACCESS_LOG", "-")
    assert runpy.run_path(str(ROOT / "gunicorn.conf.py"))["accesslog"] == "-"


def test_the_worker_logs_each_message_under_its_own_request_id(run: Run) -> None:
    lines = [line for line in _lines(run.worker_log) if line["logger"] == "cabinet.delivery"]
    assert len(lines) == 4
    assert all(line["message"].endswith("accepted (HTTP 200)") for line in lines)
    assert len({line["request_id"] for line in lines}) == 4
    assert all(line["invitation_id"] for line in lines)
    # Having ended, the worker counts no more in the live gauges; its counters stay summed.
    (pid,) = {line["pid"] for line in lines}
    assert (run.metrics_dir / f"counter_{pid}.db").exists()
    assert not (run.metrics_dir / f"gauge_livesum_{pid}.db").exists()


def test_no_log_holds_an_unmasked_contact(run: Run) -> None:
    text = "\n".join(path.read_text() for path in (run.access_log, run.app_log, run.worker_log))
    assert unmasked(text) == []
    # The contacts were in the traffic: the query strings, masked.
    assert "q=i***@alfatelecom.ru" in text
    assert "q=+7 *** ***-**-67" in text
    assert "/unsubscribe/f***@example.ru" in text


def test_prometheus_scrapes_the_metrics(app: Flask, run: Run, tmp_path: Path) -> None:
    if not os.path.exists(PROMETHEUS):
        pytest.skip(
            "!!! Prometheus не установлен: сбор метрик сервером Prometheus ПРОПУЩЕН "
            "(make test ставит пакет prometheus через apt-get, если запущен от root)"
        )
    host_port = run.base.removeprefix("http://")
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n  - job_name: cabinet\n"
        "    authorization:\n      type: Bearer\n"
        f"      credentials: {TOKEN}\n"
        f"    static_configs:\n      - targets: ['{host_port}']\n"
    )
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        server = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        api = f"http://127.0.0.1:{port}/api/v1/query"
        # /-/ready answers 503 until Prometheus serves queries: any answer is not enough (a
        # loaded machine saw the query itself answered 503 right after such a one).
        _wait_until_ok(f"http://127.0.0.1:{port}/-/ready", 60)
        deadline = time.monotonic() + 60
        while True:
            found = requests.get(
                api, params={"query": "cabinet_referral_codes_applied_total"}, timeout=5
            ).json()["data"]["result"]
            if found:
                break
            assert server.poll() is None, (tmp_path / "prometheus.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "prometheus.log").read_text()
            time.sleep(0.2)  # Prometheus scrapes every second: there is no event to wait for
        referrals, _ = _database_counts(app)
        assert float(found[0]["value"][1]) == referrals == FRIENDS
        up = requests.get(api, params={"query": "up"}, timeout=5).json()["data"]["result"]
        assert [float(r["value"][1]) for r in up] == [1.0]
        depth = requests.get(
            api, params={"query": 'cabinet_outbox_depth{status="queued"}'}, timeout=5
        ).json()["data"]["result"]
        assert [float(r["value"][1]) for r in depth] == [0.0]
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_ok(url: str, seconds: float) -> None:
    wait_for(url, seconds)  # up at all
    deadline = time.monotonic() + seconds
    while requests.get(url, timeout=5).status_code != 200:
        assert time.monotonic() < deadline, f"{url} did not answer 200 in {seconds} s"
        time.sleep(0.2)  # Prometheus says nothing when it becomes ready: there is no event
