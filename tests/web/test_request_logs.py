"""One log line per request with its id, the id in every line of the request and in the
response, and no contact unmasked in any line (cabinet/logs.py, cabinet/web/observability.py)."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from cabinet import logs
from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.simulator.server import SimulatorServer
from tests.conftest import msk
from tests.factories import make_member
from tests.invitations.conftest import TOKEN, Simulator
from tests.invitations.test_delivery import worker_settings
from tests.log_audit import unmasked
from tests.servers import running
from tests.support.sign_in import sign_in_manager
from tests.web.conftest import Auth, outside_requests, referrer_with_referees, web_client


@pytest.fixture
def gateways() -> Iterator[Simulator]:
    server = SimulatorServer(("127.0.0.1", 0), TOKEN)
    with running(server):
        yield Simulator(f"http://127.0.0.1:{server.server_port}")


@pytest.fixture
def lines(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], list[dict[str, object]]]]:
    """The JSON lines of everything logged during the test, as production writes them."""
    formatter = logs.JsonFormatter()
    with caplog.at_level(logging.INFO):
        yield lambda: [json.loads(formatter.format(r)) for r in caplog.records]


def test_a_request_id_is_taken_from_the_caller_or_made(
    client: FlaskClient, lines: Callable[[], list[dict[str, object]]]
) -> None:
    given = client.get("/login", headers={"X-Request-Id": "edge-7f3a.42:1"})
    assert given.headers["X-Request-Id"] == "edge-7f3a.42:1"
    for unsafe in ("x" * 65, "has space", "<script>", "кириллица"):
        made = client.get("/login", headers={"X-Request-Id": unsafe})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    first, second = (client.get("/healthz").headers["X-Request-Id"] for _ in range(2))
    assert first != second
    request_lines = [line for line in lines() if line["logger"] == "cabinet.request"]
    assert [line["request_id"] for line in request_lines][:1] == ["edge-7f3a.42:1"]
    assert not any(line["request_id"] in ("has space", "<script>") for line in request_lines)


def test_one_line_per_request_and_the_id_in_every_line_of_it(
    app: Flask, lines: Callable[[], list[dict[str, object]]]
) -> None:
    context: Context = app.extensions["context"]
    with outside_requests(app):
        code = make_member(
            context, 400, msk("2023-03-01 09:00"), registered_at=msk("2023-01-01 00:00")
        )
    browser = app.test_client()
    Auth(browser).login(web_client(app, 500))
    response = Auth(browser).post("/referral/apply", {"code": code})
    request_id = response.headers["X-Request-Id"]

    mine = [line for line in lines() if line.get("request_id") == request_id]
    assert [line["message"] for line in mine] == [
        "referral code applied",
        "POST referrals.apply_code 303",
    ]
    (request_line,) = (line for line in mine if line["logger"] == "cabinet.request")
    assert request_line["method"] == "POST"
    assert request_line["route"] == "/referral/apply"
    assert request_line["endpoint"] == "referrals.apply_code"
    assert request_line["status"] == 303
    assert request_line["client_id"] == 500
    assert isinstance(request_line["duration_ms"], float) and request_line["duration_ms"] > 0
    assert request_line["level"] == "info" and "ts" in request_line
    # Every request has exactly one line (the sign-in's GET and POST, the page, the apply).
    per_request = [line for line in lines() if line["logger"] == "cabinet.request"]
    ids = [line["request_id"] for line in per_request]
    assert len(ids) == len(set(ids)) == 4


def test_the_line_says_what_an_access_log_says(
    make_app: Callable[..., Flask], lines: Callable[[], list[dict[str, object]]]
) -> None:
    """Behind a trusted proxy: the peer as it connected (the proxy), the address it forwarded,
    the path with its query, the size of the body, the referer and the browser."""
    behind = make_app(TRUSTED_PROXIES=1)
    response = behind.test_client().get(
        "/login?next=%2Freferral",
        headers={
            "X-Forwarded-For": "203.0.113.7",
            "User-Agent": "Браузер/1.0",
            "Referer": "https://cabinet.example.ru/",
        },
        environ_base={"REMOTE_ADDR": "10.0.0.2"},
    )
    assert response.status_code == 200
    (line,) = (line for line in lines() if line["logger"] == "cabinet.request")
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert (line["remote"], line["forwarded_for"]) == ("10.0.0.2", "203.0.113.7")
    assert line["path"] == "/login?next=%2Freferral"
    assert (line["route"], line["status"]) == ("/login", 200)
    assert line["bytes"] == len(response.data) > 0
    assert line["referer"] == "https://cabinet.example.ru/"
    assert line["user_agent"] == "Браузер/1.0"


def test_a_managers_requests_name_the_manager(
    app: Flask, client: FlaskClient, lines: Callable[[], list[dict[str, object]]]
) -> None:
    with outside_requests(app):
        manager_id = create_manager(
            "ops@example.ru", "пароль-менеджера-1", "Опер", datetime.now(UTC)
        ).id
    sign_in_manager(client, "ops@example.ru", "пароль-менеджера-1")
    assert client.get("/manage/clients").status_code == 200
    request_lines = [line for line in lines() if line["logger"] == "cabinet.request"]
    assert request_lines[-1]["endpoint"] == "manage.clients"
    assert request_lines[-1]["manager_id"] == manager_id
    assert "client_id" not in request_lines[-1]


def test_no_contact_is_unmasked_in_any_line(
    app: Flask,
    make_app: Callable[..., Flask],
    gateways: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Many requests that carry e-mail addresses and phone numbers (sign-ins, refused ones up
    to the limit, invitations, the manager's lookups), then the worker's passes with a
    failing gateway; every line logged, in both formats, is searched."""
    out = io.StringIO()
    handlers = []
    for kind in logs.FORMATS:
        handler = logging.StreamHandler(out)
        handler.setFormatter(logs.formatter(kind))
        handlers.append(handler)
        logging.getLogger().addHandler(handler)
    try:
        _drive(app, make_app, gateways, caplog)
    finally:
        for handler in handlers:
            logging.getLogger().removeHandler(handler)
    text = out.getvalue()
    assert text.count("\n") > 50
    assert unmasked(text) == []
    # The contacts were there to be masked: the limit's line names the account, masked.
    assert "account:n***@example.ru" in text
    assert "+7 *** ***-**-67" in text and "i***@alfatelecom.ru" in text


def _drive(
    app: Flask,
    make_app: Callable[..., Flask],
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    context: Context = app.extensions["context"]
    email, _code = referrer_with_referees(app, referees=0)  # 400 «АльфаТелеком», a member
    member = app.test_client()
    with caplog.at_level(logging.INFO):
        Auth(member).login(email)
        for n in range(10):
            Auth(member).post(
                "/referral/invite",
                {"channel": "sms", "recipient": f"+7 916 123-45-{n:02d}", "consent": "y"},
            )
            Auth(member).post(
                "/referral/invite",
                {"channel": "email", "recipient": f"friend{n}@example.ru", "consent": "y"},
            )
        # A third party's line with contacts in it (a library logging what it was given).
        logging.getLogger("some.library").warning(
            "retrying %s and %s", "info@alfatelecom.ru", "+79161234567"
        )
        limited = make_app(
            LOGIN_ACCOUNT_FAILURE_LIMIT="3 per minute",
            WTF_CSRF_ENABLED=False,
            PASSWORD_HASH_METHOD="pbkdf2:sha256:1",
            TESTING=True,
        )
        guesser = limited.test_client()
        for _ in range(5):
            guesser.post("/login", data={"email": "nobody@example.ru", "password": "x"})
        for query in ("info@alfatelecom.ru", "+79161234567", "8 916 123 45 67"):
            guesser.get("/manage/clients", query_string={"q": query})
        simulator.faults(error_rate=0.5, bad_request_rate=0.2)
        settings = worker_settings(app, simulator)
        with requests.Session() as session, app.app_context():
            worker = Worker(context, settings, http_gateways(settings, session))
            for _ in range(5):
                worker.run_pass()
            db.session.remove()
