"""Limits that fail soft and cannot be aimed at somebody else.

- Redis unreachable (a closed port, or a port that accepts and never answers): the limits count
  in each process's memory, sign-in keeps working, `/readyz` says the limits are degraded.
- Over HTTP behind a trusted proxy (`TRUSTED_PROXIES=1`), from distinct forwarded addresses:
  the code-guessing count is the client's, not its session's; wrong passwords are counted per
  account and address (and per form), so a stranger cannot lock a manager out; signed-out posts
  spend nobody's invitations; a double click on «Применить» is one guess.
"""

from __future__ import annotations

import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import requests
from flask import Flask

from cabinet import limits, metrics
from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.referrals import services
from tests.conftest import msk
from tests.security.figures import record_fault
from tests.servers import serving
from tests.web.conftest import PASSWORD, outside_requests, web_client

WRONG_CODE = "abcdefabc"


# ---- Redis unreachable -----------------------------------------------------------------------


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on: connections are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


@contextmanager
def silent_port() -> Iterator[int]:
    """A loopback port that accepts connections (the kernel's backlog does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


REDIS_FAULTS = {
    "closed": "Redis unreachable: a closed port",
    "silent": "Redis unreachable: a port that accepts and never answers",
}


@pytest.fixture(params=["closed", "silent"])
def dead_redis(request: pytest.FixtureRequest) -> Iterator[tuple[str, int, str]]:
    """Redis's address, a client id of the case's own, and the fault's name in the report."""
    port = closed_port if request.param == "closed" else silent_port
    with port() as number:
        client_id = 9801 if request.param == "closed" else 9805
        yield f"redis://127.0.0.1:{number}/0", client_id, REDIS_FAULTS[request.param]


def test_limits_fall_back_to_memory_when_redis_is_unreachable(
    app: Flask,
    make_app: Callable[..., Flask],
    context: Context,
    dead_redis: tuple[str, int, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: every limited POST answered 500 (`redis.exceptions.ConnectionError`), after
    5 s when Redis hung, and /readyz said «ok». Now each process counts in its memory."""
    uri, client_id, fault = dead_redis
    other = make_app(
        WTF_CSRF_ENABLED=False,
        RATELIMIT_STORAGE_URI=uri,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        LOGIN_ACCOUNT_FAILURE_LIMIT="3 per minute",
    )
    before = limits.storage_fallbacks()
    exported = metrics.LIMITS_STORAGE_FALLBACKS._value.get()
    email = web_client(app, client_id, registered_at=datetime.now(UTC) - timedelta(days=1))
    manager_email = f"ops{client_id}@example.ru"
    with outside_requests(app):
        create_manager(manager_email, PASSWORD, "Ольга", datetime.now(UTC))
    web = other.test_client()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert web.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    first_answer = time.monotonic() - started  # measured for the report, not asserted
    assert any(r.levelno >= logging.ERROR and "Redis" in r.getMessage() for r in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    assert limits.storage_fallbacks() > before
    # …and Prometheus sees it (cabinet_limits_storage_fallbacks_total, docs/operations.md)
    assert metrics.LIMITS_STORAGE_FALLBACKS._value.get() > exported

    applied = web.post("/referral/apply", data={"code": WRONG_CODE})
    assert applied.status_code == 422
    assert "Такого кода приглашения нет" in applied.get_data(as_text=True)
    assert web.post("/referral/join").status_code in {302, 303}
    invited = web.post(
        "/referral/invite",
        data={"channel": "email", "recipient": f"friend{client_id}@example.ru", "consent": "y"},
    )
    assert invited.status_code == 303
    page = web.get("/referral?tab=invitations").get_data(as_text=True)
    assert f"Приглашение отправлено на friend{client_id}@example.ru" in page

    manager = other.test_client()
    signed = manager.post("/manage/login", data={"email": manager_email, "password": PASSWORD})
    assert signed.status_code == 302 and signed.headers["Location"].endswith("/manage/dashboard")

    # The limits still hold, in this process's memory.
    stranger = other.test_client()
    wrong = [
        stranger.post("/login", data={"email": email, "password": "wrong"}).status_code
        for _ in range(4)
    ]
    assert wrong == [422, 422, 422, 429]

    ready = other.test_client().get("/readyz")
    assert ready.status_code == 200  # the instance still serves: keep it in the balancer
    assert ready.text == "ok\nrate limits: degraded (Redis unreachable, counted in memory)\n"
    record_fault(
        fault,
        posts_sent="/login, /manage/login, /referral/apply, /referral/join, /referral/invite",
        server_errors=0,
        answers={
            "client sign-in": 302,
            "wrong code": applied.status_code,
            "invitation": invited.status_code,
            "manager sign-in": signed.status_code,
            "4 wrong passwords, limit 3": wrong,
            "readyz": ready.status_code,
        },
        readyz=ready.text.splitlines(),
        storage_fallbacks=limits.storage_fallbacks() - before,
        first_sign_in_seconds=round(first_answer, 2),
        redis_timeout_seconds=other.config["RATELIMIT_REDIS_TIMEOUT_SECONDS"],
    )


def test_readiness_names_no_degradation_with_redis_up(make_app: Callable[..., Flask]) -> None:
    from tests.security.test_limits import REDIS_URL, redis_or_skip

    redis_or_skip()
    other = make_app(RATELIMIT_STORAGE_URI=REDIS_URL)
    ready = other.test_client().get("/readyz")
    assert ready.status_code == 200 and ready.text == "ok\n"


# ---- over HTTP, behind a trusted proxy -------------------------------------------------------


@contextmanager
def behind_proxy(make_app: Callable[..., Flask], **settings: str) -> Iterator[str]:
    other = make_app(
        WTF_CSRF_ENABLED=False,
        TRUSTED_PROXIES=1,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        CABINET_TIMEZONE="Europe/Moscow",
        **settings,
    )
    with serving(other) as base:
        yield base


class Browser:
    """One person's browser at a forwarded address."""

    def __init__(self, base: str, address: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["X-Forwarded-For"] = address

    def post(self, path: str, **data: str) -> requests.Response:
        return self.session.post(self.base + path, data=data, allow_redirects=False, timeout=30)

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.base + path, allow_redirects=False, timeout=30)

    def read(self, path: str) -> str:
        """The page's text as a person reads it (non-breaking spaces as spaces)."""
        return self.get(path).text.replace("\u00a0", " ")

    def sign_in(self, email: str, password: str = PASSWORD, path: str = "/login") -> int:
        return self.post(path, email=email, password=password).status_code

    def close(self) -> None:
        self.session.close()


@contextmanager
def browsers(base: str, *addresses: str) -> Iterator[list[Browser]]:
    made = [Browser(base, address) for address in addresses]
    try:
        yield made
    finally:
        for browser in made:
            browser.close()


def test_signing_out_keeps_the_code_guessing_count(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    """Before: the count's key held the session version, so «Выйти» and «Войти» started it
    again (30 wrong codes a minute, stopped only by the per-IP limit)."""
    email = web_client(app, 9811, registered_at=datetime.now(UTC) - timedelta(days=1))
    with (
        behind_proxy(make_app, APPLY_CODE_FAILURE_LIMIT="4 per hour") as base,
        browsers(base, "203.0.113.11", "203.0.113.12") as (first, second),
    ):
        assert first.sign_in(email) == 302
        codes = [f"abcdefab{n}" for n in range(5)]  # a new guess each time
        assert [first.post("/referral/apply", code=c).status_code for c in codes[:3]] == [422] * 3
        assert first.post("/logout").status_code == 302
        # The same client, signed in again from another address.
        assert second.sign_in(email) == 302
        assert second.post("/referral/apply", code=codes[3]).status_code == 422
        refused = second.post("/referral/apply", code=codes[4])
        assert refused.status_code == 429
        assert "Попробуйте снова через" in refused.text


def test_a_stranger_cannot_lock_a_manager_out(app: Flask, make_app: Callable[..., Flask]) -> None:
    """Before: five wrong passwords for a manager's address sent to the *client* form, from
    any address, answered 429 to the manager's right password at /manage/login."""
    with outside_requests(app):
        create_manager("ops9821@example.ru", PASSWORD, "Ольга", datetime.now(UTC))
    with (
        behind_proxy(
            make_app,
            LOGIN_ACCOUNT_FAILURE_LIMIT="5 per minute",
            LOGIN_ACCOUNT_CEILING_LIMIT="50 per hour",
        ) as base,
        browsers(base, "203.0.113.21", "198.51.100.22") as (stranger, owner),
    ):
        tries = [stranger.sign_in("ops9821@example.ru", "wrong") for _ in range(6)]
        assert tries == [422] * 5 + [429]  # the stranger is stopped on its own address
        tries = [stranger.sign_in("ops9821@example.ru", "wrong", "/manage/login") for _ in range(6)]
        assert tries == [422] * 5 + [429]
        signed = owner.post("/manage/login", email="ops9821@example.ru", password=PASSWORD)
        assert signed.status_code == 302
        assert signed.headers["Location"].endswith("/manage/dashboard")
        assert "Обзор программы" in owner.read("/manage/dashboard")


def test_the_account_wide_ceiling_stops_guessing_from_many_addresses(
    app: Flask, make_app: Callable[..., Flask]
) -> None:
    email = web_client(app, 9831)
    with outside_requests(app):
        create_manager("ops9832@example.ru", PASSWORD, "Ольга", datetime.now(UTC))
    addresses = [f"203.0.113.{n}" for n in range(31, 37)]
    with (
        behind_proxy(
            make_app,
            LOGIN_ACCOUNT_FAILURE_LIMIT="5 per minute",
            LOGIN_ACCOUNT_CEILING_LIMIT="4 per hour",
        ) as base,
        browsers(base, *addresses) as many,
    ):
        assert [b.sign_in(email, "wrong") for b in many[:4]] == [422] * 4
        refused = many[4].post("/login", email=email, password=PASSWORD)
        assert refused.status_code == 429
        assert "Попробуйте снова через" in refused.text
        # The manager form counts its own accounts: the ceiling of one is not the other's.
        assert many[5].sign_in("ops9832@example.ru", PASSWORD, "/manage/login") == 302


def test_signed_out_posts_spend_no_invitations(
    app: Flask, make_app: Callable[..., Flask], context: Context
) -> None:
    """Before: three anonymous POST /referral/invite for an address (each sent to sign-in)
    spent that address's limit; a member's real invitation then got 429 for an hour."""
    email = web_client(app, 9841, registered_at=msk("2023-03-01 09:00"))
    with outside_requests(app):
        services.join(context.at(msk("2023-03-02 09:00")), 9841)
    data = {"channel": "email", "recipient": "friend9841@example.ru", "consent": "y"}
    with (
        behind_proxy(make_app, INVITE_RECIPIENT_RATE_LIMIT="3 per hour") as base,
        browsers(base, "203.0.113.41", "198.51.100.42") as (stranger, member),
    ):
        for _ in range(4):
            answer = stranger.post("/referral/invite", **data)
            assert answer.status_code == 302 and "/login" in answer.headers["Location"]
        assert member.sign_in(email) == 302
        sent = member.post("/referral/invite", **data)
        assert sent.status_code == 303
        page = member.read("/referral?tab=invitations")
        assert "Приглашение отправлено на friend9841@example.ru" in page
        # A refused invitation (here: the same address again, cooling down) is no invitation.
        for _ in range(3):
            again = member.post("/referral/invite", **data)
            assert again.status_code == 422


def test_a_double_click_is_one_guess(app: Flask, make_app: Callable[..., Flask]) -> None:
    """Before: the refused second submit of a double click counted as another wrong code."""
    emails = [
        web_client(app, client_id, registered_at=datetime.now(UTC) - timedelta(days=1))
        for client_id in (9851, 9852)
    ]
    with (
        behind_proxy(make_app, APPLY_CODE_IP_FAILURE_LIMIT="3 per hour") as base,
        browsers(base, "203.0.113.51", "203.0.113.51") as (one, two),
    ):
        assert one.sign_in(emails[0]) == 302
        assert two.sign_in(emails[1]) == 302
        # Each client double-clicks one wrong code: two guesses from this address, not four.
        for browser in (one, two):
            clicks = [browser.post("/referral/apply", code=WRONG_CODE) for _ in range(2)]
            assert [c.status_code for c in clicks] == [422, 422]
            assert "Такого кода приглашения нет" in clicks[1].text
        # A third, different code is the third guess; a fourth is refused.
        assert one.post("/referral/apply", code="abcdefabd").status_code == 422
        refused = two.post("/referral/apply", code="abcdefabe")
        assert refused.status_code == 429
        assert "Попробуйте снова через" in refused.text
