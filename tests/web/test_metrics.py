"""`/metrics`: the counters follow what happens and match the database; who may read them.

The values are this process's (no PROMETHEUS_MULTIPROC_DIR in the test run), shared by every
app the tests make, so each test compares the counters after with those before. Every scrape
is read by prometheus-client's own parser, so a malformed exposition fails too.
(tests/web/test_observability_gunicorn.py: the multiprocess mode under gunicorn, and
Debian's Prometheus server scraping it.)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from cabinet.clock import Context, SettableClock
from cabinet.config import PROJECT_ROOT
from cabinet.db import db
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.models import Invitation
from cabinet.invitations.settings import GatewayConfig, InvitationSettings
from cabinet.referrals.models import Referral
from tests.conftest import msk
from tests.factories import make_member
from tests.servers import running
from tests.web.conftest import Auth, outside_requests, referrer_with_referees, web_client

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(client: FlaskClient, **headers: str) -> Samples:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def requests_seen(samples: Samples, endpoint: str, status_class: str, method: str) -> float:
    return value(
        samples,
        "cabinet_http_request_duration_seconds_count",
        endpoint=endpoint,
        method=method,
        status_class=status_class,
    )


def referrals_in_database(app: Flask) -> int:
    with outside_requests(app):
        return int(db.session.scalar(select(func.count()).select_from(Referral)) or 0)


def test_applied_and_refused_codes_count_as_the_database_does(
    app: Flask, client: FlaskClient
) -> None:
    context: Context = app.extensions["context"]
    with outside_requests(app):
        code = make_member(
            context, 400, msk("2023-03-01 09:00"), registered_at=msk("2023-01-01 00:00")
        )
    before, referrals_before = scrape(client), referrals_in_database(app)

    friends = 5
    for n in range(friends):
        browser = app.test_client()
        Auth(browser).login(web_client(app, 500 + n))
        response = Auth(browser).post("/referral/apply", {"code": code})
        assert response.status_code == 303
        assert "Код применен" in browser.get("/referral").text
    refuser = app.test_client()
    Auth(refuser).login(web_client(app, 600))
    shown = {
        "12345": "Код приглашения состоит из 9 символов",  # CodeMalformed
        "0000000aa": "Такого кода приглашения нет",  # CodeNotFound
    }
    for typed, message in shown.items():
        response = Auth(refuser).post("/referral/apply", {"code": typed})
        assert response.status_code == 422
        assert message in response.text

    after = scrape(client)
    applied = value(after, "cabinet_referral_codes_applied_total") - value(
        before, "cabinet_referral_codes_applied_total"
    )
    assert applied == referrals_in_database(app) - referrals_before == friends
    for reason in ("CodeMalformed", "CodeNotFound"):
        name = "cabinet_referral_codes_refused_total"
        assert value(after, name, reason=reason) - value(before, name, reason=reason) == 1
    # The endpoint's name, never the path; each status class on its own.
    seen = {
        cls: requests_seen(after, "referrals.apply_code", cls, "POST")
        - requests_seen(before, "referrals.apply_code", cls, "POST")
        for cls in ("3xx", "4xx", "5xx")
    }
    assert seen == {"3xx": friends, "4xx": 2, "5xx": 0}
    assert not any("/referral/apply" in str(labels) for _, labels in after)


class RecordingGateway(BaseHTTPRequestHandler):
    """A gateway on a loopback port: takes SMS, refuses e-mail (400), records each request."""

    seen: list[dict[str, str]]

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length))
        self.server.seen.append(  # type: ignore[attr-defined]
            {
                "path": self.path,
                "to": body["to"],
                "request_id": self.headers.get("X-Request-Id", ""),
                "key": self.headers.get("Idempotency-Key", ""),
            }
        )
        status = 200 if self.path == "/sms" else 400
        payload = b'{"id": "m1"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the test reads what it recorded."""


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[dict[str, str]]]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingGateway)
    server.seen = []  # type: ignore[attr-defined]
    with running(server):
        yield f"http://127.0.0.1:{server.server_port}", server.seen  # type: ignore[attr-defined]


def invitation_counts(app: Flask) -> dict[tuple[str, str], int]:
    with outside_requests(app):
        rows = db.session.execute(
            select(Invitation.channel, Invitation.status, func.count()).group_by(
                Invitation.channel, Invitation.status
            )
        ).all()
    return {(channel, status): count for channel, status, count in rows}


def test_invitations_and_the_outbox_count_as_the_database_does(
    app: Flask,
    client: FlaskClient,
    clock: SettableClock,
    gateway: tuple[str, list[dict[str, str]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    context: Context = app.extensions["context"]
    email, _code = referrer_with_referees(app, referees=0)  # 400 «АльфаТелеком», a member
    member = app.test_client()
    Auth(member).login(email)
    before = scrape(client)
    sent = [("sms", "+79101234567"), ("sms", "+79101234568"), ("email", "friend@example.ru")]
    for channel, recipient in sent:
        response = Auth(member).post(
            "/referral/invite", {"channel": channel, "recipient": recipient, "consent": "y"}
        )
        assert response.status_code == 303
    tab = member.get("/referral?tab=invitations").text
    assert tab.count("в очереди") == 3

    clock.set(msk("2023-03-31 12:05"))  # the outbox waits five minutes
    waiting = scrape(client)
    assert value(waiting, "cabinet_outbox_depth", status="queued") == 3
    assert value(waiting, "cabinet_outbox_depth", status="sending") == 0
    assert value(waiting, "cabinet_outbox_oldest_age_seconds") == 300

    url, seen = gateway
    base: InvitationSettings = app.extensions["invitations"]
    settings = InvitationSettings(
        **{
            **vars(base),
            "sms": GatewayConfig(url + "/sms", "t"),
            "email": GatewayConfig(url + "/email", "t"),
        }
    )
    with requests.Session() as session, app.app_context(), caplog.at_level("INFO"):
        worker = Worker(context, settings, http_gateways(settings, session))
        assert worker.run_pass().claimed == 3
        assert worker.run_pass().claimed == 0
        db.session.remove()

    after = scrape(client)
    stored = invitation_counts(app)
    assert stored == {("sms", "sent"): 2, ("email", "failed"): 1}

    def counted(channel: str, event: str) -> float:
        name = "cabinet_invitations_total"
        return value(after, name, channel=channel, event=event) - value(
            before, name, channel=channel, event=event
        )

    assert {
        (c, e): counted(c, e)
        for c in ("sms", "email")
        for e in ("queued", "sent", "delivered", "failed")
    } == {
        ("sms", "queued"): 2,
        ("sms", "sent"): 2,
        ("sms", "delivered"): stored[("sms", "sent")],
        ("sms", "failed"): 0,
        ("email", "queued"): 1,
        ("email", "sent"): 1,
        ("email", "delivered"): 0,
        ("email", "failed"): stored[("email", "failed")],
    }
    passes = "cabinet_delivery_passes_total"
    assert value(after, passes, result="work") - value(before, passes, result="work") == 1
    assert value(after, passes, result="idle") - value(before, passes, result="idle") == 1
    assert value(after, "cabinet_outbox_depth", status="queued") == 0
    assert value(after, "cabinet_outbox_oldest_age_seconds") == 0

    # Each message went to its gateway under a request id of its own, which is the id of
    # every log line of the worker's handling of that message.
    ids = [call["request_id"] for call in seen]
    assert len(set(ids)) == 3 and all(len(i) == 32 for i in ids)
    worker_lines = [r for r in caplog.records if r.name == "cabinet.delivery"]
    assert sorted(r.context["request_id"] for r in worker_lines) == sorted(ids)  # type: ignore[attr-defined]
    for line in worker_lines:
        fields = line.context  # type: ignore[attr-defined]
        assert line.getMessage().startswith(f"invitation {fields['invitation_id']}: ")


def test_a_breached_limit_counts_by_its_name(make_app: Callable[..., Flask]) -> None:
    limited = make_app(
        LOGIN_ACCOUNT_FAILURE_LIMIT="2 per minute",
        LOGIN_IP_FAILURE_LIMIT="100 per minute",
        WTF_CSRF_ENABLED=False,
        PASSWORD_HASH_METHOD="pbkdf2:sha256:1",
        TESTING=True,
    )
    web = limited.test_client()
    before = scrape(web)
    wrong = {"email": "nobody@example.ru", "password": "не тот пароль"}
    codes = [web.post("/login", data=wrong).status_code for _ in range(3)]
    assert codes == [422, 422, 429]
    assert "Слишком много попыток подряд" in web.post("/login", data=wrong).text
    after = scrape(web)
    name = "cabinet_limits_hit_total"
    breached = "login-client-account-address"  # refused sign-ins per (account, address)
    assert value(after, name, limit=breached) - value(before, name, limit=breached) == 2
    assert value(after, name, limit="login-ip") == value(before, name, limit="login-ip")


def test_the_pool_gauge_follows_connections_in_use(app: Flask, client: FlaskClient) -> None:
    idle = scrape(client)
    assert value(idle, "cabinet_db_pool_size") >= 0
    with app.app_context():
        db.session.connection()  # a connection out of the pool, as during a request
        busy = scrape(app.test_client())
        db.session.remove()
    assert (
        value(busy, "cabinet_db_pool_checked_out") == value(idle, "cabinet_db_pool_checked_out") + 1
    )
    assert value(scrape(client), "cabinet_db_pool_checked_out") == value(
        idle, "cabinet_db_pool_checked_out"
    )


# ---- who may read /metrics ------------------------------------------------------------------


def test_without_a_token_only_this_host_reads_the_metrics(app: Flask, client: FlaskClient) -> None:
    assert app.config["METRICS_TOKEN"] == ""
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    v6 = client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"})
    assert v6.status_code == 200
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert remote.status_code == 403
    assert "только с этого сервера" in remote.text
    assert "cabinet_" not in remote.text
    # Through a proxy on this host the peer is loopback, but the visitor is not.
    proxied = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert proxied.status_code == 403


def test_with_a_token_only_its_bearer_reads_the_metrics(make_app: Callable[..., Flask]) -> None:
    token = "metrics-token-0123456789abcdef"
    web = make_app(METRICS_TOKEN=token).test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": token}):
        refused = web.get("/metrics", headers=headers)
        assert refused.status_code == 401
        assert refused.headers["WWW-Authenticate"].startswith("Bearer")
        assert "cabinet_" not in refused.text
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    granted = web.get("/metrics", headers={"Authorization": f"Bearer {token}"}, environ_base=remote)
    assert granted.status_code == 200
    assert "cabinet_http_request_duration_seconds_bucket" in granted.text
    parse(granted.text)


def test_the_metrics_carry_no_session_and_are_not_cached(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


# ---- docs/operations.md ---------------------------------------------------------------------

OPERATIONS = PROJECT_ROOT / "docs" / "operations.md"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def test_the_operations_page_lists_every_metric_and_no_other(client: FlaskClient) -> None:
    response = client.get("/metrics")
    exported = {
        family.name
        for family in text_string_to_metric_families(response.text)
        if family.name.startswith("cabinet_")
    }
    documented = set(
        re.findall(r"^\| `(cabinet_[a-z_]+?)(?:_total)?` \|", OPERATIONS.read_text(), re.M)
    )
    assert documented == exported


def test_the_example_alert_rules_are_valid_for_prometheus(tmp_path: Path) -> None:
    if not os.path.exists(PROMTOOL):
        pytest.skip(
            "!!! promtool (пакет prometheus) не установлен: проверка примеров правил ПРОПУЩЕНА"
        )
    found = re.search(r"```yaml\n(groups:.*?)```", OPERATIONS.read_text(), re.S)
    assert found
    rules = tmp_path / "rules.yml"
    rules.write_text(found[1])
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 7 rules found" in checked.stdout
    names = set(re.findall(r"\b(cabinet_[a-z_]+?)(?:_total|_count)?\b", found[1]))
    assert {"cabinet_outbox_oldest_age_seconds", "cabinet_referral_codes_refused"} <= names
