"""The HTTP gateway client against the simulator, over real HTTP: no mock of requests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
import requests

from cabinet.invitations.gateway import HttpGateway, Outcome
from tests.invitations.conftest import TOKEN, Simulator, TricklingServer
from tests.servers import running

SMS = {"to": "+79101234567", "text": "Код-приглашение: 5e83e12b1"}


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def gateway(
    url: str, session: requests.Session, token: str = TOKEN, read: float = 5
) -> HttpGateway:
    return HttpGateway(url, token, session, connect_timeout=2, read_timeout=read)


def test_accepted_and_kept_once_per_idempotency_key(
    simulator: Simulator, session: requests.Session
) -> None:
    sms = gateway(simulator.url + "/sms", session)
    assert sms.send(SMS, "key-1").verdict == "accepted"
    assert sms.send(SMS, "key-1").verdict == "accepted"  # a retry of the same message
    assert sms.send(SMS, "key-2").verdict == "accepted"
    kept = simulator.messages()
    assert [(m["key"], m["to"], m["channel"]) for m in kept] == [
        ("key-1", "+79101234567", "sms"),
        ("key-2", "+79101234567", "sms"),
    ]


def test_email_contract(simulator: Simulator, session: requests.Session) -> None:
    letter = {"to": "friend@example.ru", "subject": "Тема", "text": "Текст", "html": "<p>Текст</p>"}
    assert gateway(simulator.url + "/email", session).send(letter, "e-1").verdict == "accepted"
    (kept,) = simulator.messages()
    assert (kept["subject"], kept["html"], kept["channel"]) == ("Тема", "<p>Текст</p>", "email")


@pytest.mark.parametrize(
    ("faults", "verdict", "retry_after"),
    [
        ({"error_rate": 1}, "retry", None),
        ({"rate_limit_rate": 1, "retry_after": 7}, "retry", 7.0),
        ({"drop_rate": 1}, "retry", None),
        ({"bad_request_rate": 1}, "reject", None),
        ({"ghost_rate": 1}, "retry", None),
    ],
)
def test_faults_map_to_verdicts(
    simulator: Simulator,
    session: requests.Session,
    faults: dict[str, float],
    verdict: str,
    retry_after: float | None,
) -> None:
    simulator.faults(**faults)
    outcome = gateway(simulator.url + "/sms", session).send(SMS, "k")
    assert (outcome.verdict, outcome.retry_after) == (verdict, retry_after)


def test_a_slow_gateway_is_a_timeout_and_worth_a_retry(
    simulator: Simulator, session: requests.Session
) -> None:
    simulator.faults(latency_ms=800)
    outcome = gateway(simulator.url + "/sms", session, read=0.2).send(SMS, "slow")
    assert outcome.verdict == "retry" and "вовремя" in outcome.detail


def test_a_wrong_token_is_final(simulator: Simulator, session: requests.Session) -> None:
    outcome = gateway(simulator.url + "/sms", session, token="wrong").send(SMS, "k")
    assert outcome.verdict == "reject" and "401" in outcome.detail
    assert simulator.messages() == []


def test_nobody_listening_is_worth_a_retry(session: requests.Session) -> None:
    outcome = gateway("http://127.0.0.1:9/sms", session).send(SMS, "k")
    assert outcome.verdict == "retry"


def test_a_trickling_answer_ends_at_the_overall_deadline(
    trickling: TricklingServer, session: requests.Session
) -> None:
    """A byte every 0.3 s never trips the 1 s read timeout; the whole call is bounded by
    connect + read (2 + 1 s) and ends there as a timeout worth a retry."""
    outcome = gateway(trickling.url + "/sms", session, read=1).send(SMS, "k")
    assert outcome == Outcome("retry", "шлюз не ответил за 3 с")
    assert trickling.calls == 1


def test_the_deadline_is_configurable(
    trickling: TricklingServer, session: requests.Session
) -> None:
    sms = HttpGateway(trickling.url + "/sms", TOKEN, session, 2, 10, deadline=0.5)
    assert sms.send(SMS, "k") == Outcome("retry", "шлюз не ответил за 0.5 с")


def test_the_deadline_holds_through_an_http_proxy(trickling: TricklingServer) -> None:
    """The trickling server as the forward proxy every request goes through."""
    with requests.Session() as session:
        session.proxies = {"http": trickling.url}
        sms = HttpGateway("http://gateway.invalid/sms", TOKEN, session, 2, 10, deadline=0.5)
        assert sms.send(SMS, "k") == Outcome("retry", "шлюз не ответил за 0.5 с")
    assert trickling.calls == 1


class _Redirect(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        _Redirect.hits.append(self.path)
        self.send_response(307)
        self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_redirects_are_not_followed(session: requests.Session) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Redirect)
    with running(server):
        outcome = gateway(f"http://127.0.0.1:{server.server_port}/sms", session).send(SMS, "k")
    assert outcome.verdict == "reject" and "307" in outcome.detail
    assert _Redirect.hits == ["/sms"]


def test_the_inbox_shows_moscow_time_and_wraps_long_links(
    simulator: Simulator, session: requests.Session
) -> None:
    letter = {"to": "a@example.ru", "subject": "S", "text": "https://example.ru/" + "x" * 200}
    assert gateway(simulator.url + "/email", session).send(letter, "e-1").verdict == "accepted"
    (kept,) = simulator.messages()
    received = datetime.fromisoformat(kept["received_at"]).astimezone(ZoneInfo("Europe/Moscow"))
    inbox = session.get(simulator.url + "/", timeout=5).text
    assert f"{received:%d.%m.%Y %H:%M:%S} МСК" in inbox
    assert " UTC" not in inbox
    assert "overflow-wrap:anywhere" in inbox
