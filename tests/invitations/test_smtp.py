"""The e-mail channel through a real SMTP server (aiosmtpd on loopback), with faults."""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from cabinet.db import db
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.invitations.rules import Backoff
from cabinet.invitations.settings import GatewayConfig, InvitationSettings
from cabinet.invitations.smtp import SmtpGateway, parse_url
from tests.conftest import live_program
from tests.invitations.smtp_server import SmtpServer, free_port, smtp_server, tls_contexts
from tests.invitations.test_delivery import (
    Ahead,
    drain,
    enqueue,
    kill_a_worker_mid_send,
    statuses,
)

SENDER = "Корпоративная АТС <invitations@pbx.example.ru>"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def smtp_settings(app: Flask, url: str, **overrides: object) -> InvitationSettings:
    base: InvitationSettings = app.extensions["invitations"]
    fast = dataclasses.replace(
        base,
        sms=GatewayConfig(None, ""),
        email=GatewayConfig(None, ""),
        smtp_url=url,
        mail_from=SENDER,
        backoff=Backoff(base_seconds=0.001, max_seconds=0.01, max_attempts=12),
        connect_timeout=2,
        read_timeout=10,
        deadline_seconds=10,  # no cut on a loaded machine: a cut after DATA would send twice
        lease_seconds=30,
        breaker_threshold=1000,
        breaker_cooldown_seconds=0.05,
    )
    return dataclasses.replace(fast, **overrides)  # type: ignore[arg-type]


def smtp_worker(app: Flask, url: str, **overrides: object) -> Worker:
    settings = smtp_settings(app, url, **overrides)
    with requests.Session() as session:  # no HTTP gateway is configured: unused
        gateways = http_gateways(settings, session)
    assert set(gateways) == {"email"}
    return Worker(live_program(app), settings, gateways)


def one_row() -> Invitation:
    db.session.rollback()
    return db.session.scalars(select(Invitation)).one()


def test_letters_reach_the_smtp_server_once_with_a_message_id_from_the_key(
    app: Flask, ctx: Flask, smtp: SmtpServer
) -> None:
    keys = enqueue(3, channel="email")
    drain(app, smtp_worker(app, smtp.url()))
    assert statuses() == Counter({"sent": 3})
    assert sorted(smtp.message_ids()) == sorted(f"<{key}@pbx.example.ru>" for key in keys)
    letter = smtp.letters[0]
    assert letter["From"] == SENDER
    assert letter["To"] == "friend0@example.ru"
    assert letter["Subject"] == "Приглашение"
    assert letter["Date"]
    assert letter.get_body(("plain",)).get_content().startswith("Код-приглашение: 5e83e12b1")
    assert letter.get_body(("html",)).get_content().strip() == "<p>Код</p>"
    assert smtp.envelopes[0] == ("invitations@pbx.example.ru", ["friend0@example.ru"])


def test_the_login_comes_from_the_url() -> None:
    with smtp_server(login=("robot@pbx", "p@ss:word")) as server:
        url = f"smtp://robot%40pbx:p%40ss%3Aword@127.0.0.1:{server.port}"
        assert parse_url(url).password == "p@ss:word"
        gateway = SmtpGateway(url, SENDER, 2, 10, 10)
        payload = {"to": "friend@example.ru", "subject": "Тема", "text": "т", "html": "<p>т</p>"}
        assert gateway.send(payload, "k1").verdict == "accepted"
        assert server.logins == ["robot@pbx"]
        wrong = SmtpGateway(f"smtp://robot%40pbx:nope@127.0.0.1:{server.port}", SENDER, 2, 10, 10)
        outcome = wrong.send(payload, "k2")
        assert (outcome.verdict, outcome.detail) == (
            "retry",
            "почтовый сервер не принял логин (SMTP 535)",
        )
        assert len(server.letters) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://127.0.0.1:25", "SMTP_URL: нужен адрес smtp://host:port"),
        ("smtps://mail.example.ru?starttls=1", "SMTP_URL: smtps:// уже шифрует"),
        ("smtp://mail.example.ru:99999", "SMTP_URL: неверный порт"),
    ],
)
def test_a_bad_smtp_url_stops_the_start(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_url(url)


def test_the_ports_and_tls_follow_the_scheme() -> None:
    assert (parse_url("smtp://m.example.ru").port, parse_url("smtp://m.example.ru").tls) == (
        25,
        False,
    )
    starttls = parse_url("smtp://m.example.ru?starttls=1")
    assert (starttls.port, starttls.starttls, starttls.tls) == (587, True, False)
    implicit = parse_url("smtps://u:p@m.example.ru")
    assert (implicit.port, implicit.tls, implicit.user) == (465, True, "u")


def test_a_server_that_is_down_means_a_retry(app: Flask, ctx: Flask) -> None:
    enqueue(1, channel="email")
    report = smtp_worker(app, f"smtp://127.0.0.1:{free_port()}").run_pass()
    assert (report.retried, report.failed, report.sent) == (1, 0, 0)
    row = one_row()
    assert row.status == "queued"
    assert row.last_error == "нет соединения с почтовым сервером (ConnectionRefusedError)"


def test_a_server_slower_than_the_deadline_means_a_retry_and_no_letter(
    app: Flask, ctx: Flask, smtp: SmtpServer
) -> None:
    keys = enqueue(1, channel="email")
    smtp.faults.rcpt_delay = 5
    worker = smtp_worker(app, smtp.url(), deadline_seconds=0.5, read_timeout=10)
    assert worker.run_pass().retried == 1
    row = one_row()
    assert (row.status, row.last_error) == ("queued", "почтовый сервер не ответил за 0.5 с")
    assert smtp.letters == []
    smtp.faults.rcpt_delay = 0
    # The server answers at once now (and the usual deadline, which a loaded machine keeps).
    drain(app, smtp_worker(app, smtp.url()))
    assert statuses() == Counter({"sent": 1})
    assert smtp.message_ids() == [f"<{keys[0]}@pbx.example.ru>"]


def test_a_4xx_means_a_retry(app: Flask, ctx: Flask, smtp: SmtpServer) -> None:
    enqueue(1, channel="email")
    smtp.faults.data_reply = "451 4.7.1 Greylisted, try again later"
    worker = smtp_worker(app, smtp.url())
    assert worker.run_pass().retried == 1
    row = one_row()
    assert (row.status, row.last_error) == (
        "queued",
        "SMTP 451: 4.7.1 Greylisted, try again later",
    )
    smtp.faults.data_reply = None
    drain(app, worker)
    assert statuses() == Counter({"sent": 1})
    assert len(smtp.letters) == 1


def test_a_5xx_for_the_recipient_is_final_and_a_hard_bounce_stop_lists_the_address(
    app: Flask, ctx: Flask, smtp: SmtpServer
) -> None:
    enqueue(1, channel="email")
    smtp.faults.rcpt_reply = "550 5.1.1 No such user"
    report = smtp_worker(app, smtp.url()).run_pass()
    assert (report.failed, report.retried) == (1, 0)
    row = one_row()
    assert (row.status, row.last_error) == ("failed", "SMTP 550: 5.1.1 No such user")
    entry = db.session.get(StopListEntry, "friend0@example.ru")
    assert entry is not None and entry.source == "bounce"


def test_a_5xx_for_the_letter_is_final_but_keeps_the_address(
    app: Flask, ctx: Flask, smtp: SmtpServer
) -> None:
    enqueue(1, channel="email")
    smtp.faults.data_reply = "554 5.7.1 Message rejected"
    assert smtp_worker(app, smtp.url()).run_pass().failed == 1
    assert one_row().last_error == "SMTP 554: 5.7.1 Message rejected"
    assert db.session.scalars(select(StopListEntry)).all() == []


def test_one_hundred_letters_with_30_percent_temporary_failures_arrive_exactly_once(
    app: Flask, ctx: Flask, smtp: SmtpServer
) -> None:
    keys = enqueue(100, channel="email")
    smtp.faults.tempfail_rate = 0.3
    drain(app, smtp_worker(app, smtp.url()))
    assert statuses() == Counter({"sent": 100})
    assert smtp.transactions > 115  # the failures were real and retried
    kept = Counter(smtp.message_ids())
    assert set(kept) == {f"<{key}@pbx.example.ru>" for key in keys}
    assert max(kept.values()) == 1


def test_a_letter_kept_before_a_failure_comes_again_with_the_same_message_id(
    app: Flask, ctx: Flask, smtp: SmtpServer
) -> None:
    """SMTP has no Idempotency-Key: a server that kept the letter and then failed gets it
    again on the retry, recognisable as the same letter by its Message-ID."""
    keys = enqueue(40, channel="email")
    smtp.faults.ghost_rate = 0.25
    drain(app, smtp_worker(app, smtp.url()))
    assert statuses() == Counter({"sent": 40})
    kept = Counter(smtp.message_ids())
    assert set(kept) == {f"<{key}@pbx.example.ru>" for key in keys}  # none lost
    assert sum(kept.values()) > 40  # some twice, each time under its own Message-ID


@pytest.mark.slow
def test_a_worker_killed_mid_send_to_the_smtp_server_loses_nothing(
    app: Flask, ctx: Flask, smtp: SmtpServer, database_url: str
) -> None:
    """The fault test of the HTTP gateway, with SMTP: a worker process dies while the server
    holds its letter at RCPT TO; after the lease, another worker sends all five, once each."""
    keys = enqueue(5, channel="email")
    db.session.remove()
    smtp.faults.rcpt_delay = 30  # the worker's letter waits at the server: it dies mid-send
    lease = timedelta(seconds=60)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SMTP_URL": smtp.url(),
        "MAIL_FROM": SENDER,
        "INVITE_LEASE_SECONDS": str(lease.total_seconds()),
        "GATEWAY_READ_TIMEOUT": "50",
        "GATEWAY_DEADLINE_SECONDS": "50",
        "SECRET_KEY": "k" * 40,
    }
    kill_a_worker_mid_send(env, lambda: smtp.recipients_asked)
    assert statuses() == Counter({"sending": 5})  # claimed, one mid-send, owner dead
    smtp.faults.rcpt_delay = 0
    settings = smtp_settings(app, smtp.url())
    with requests.Session() as session:
        gateways = http_gateways(settings, session)
    with app.app_context():
        assert Worker(live_program(app), settings, gateways).run_pass().claimed == 0
        db.session.remove()  # the dead worker's lease still holds them
    later = dataclasses.replace(live_program(app), clock=Ahead(lease + timedelta(seconds=1)))
    drain(app, Worker(later, settings, gateways))  # once the lease has run out
    assert statuses() == Counter({"sent": 5})
    kept = Counter(smtp.message_ids())
    assert set(kept) == {f"<{key}@pbx.example.ru>" for key in keys}
    assert max(kept.values()) == 1


PAYLOAD = {"to": "friend@example.ru", "subject": "Тема", "text": "т", "html": "<p>т</p>"}


def test_starttls_with_a_login(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    with smtp_server(login=("robot", "secret"), starttls=server_tls) as server:
        url = f"smtp://robot:secret@127.0.0.1:{server.port}?starttls=1"
        gateway = SmtpGateway(url, SENDER, 2, 10, 10, tls_context=client_tls)
        assert gateway.send(PAYLOAD, "k1").verdict == "accepted"
        assert server.logins == ["robot"] and len(server.letters) == 1
        # Without STARTTLS the server (which requires it) refuses the letter: a 5xx, final.
        plain = SmtpGateway(f"smtp://127.0.0.1:{server.port}", SENDER, 2, 10, 10)
        outcome = plain.send(PAYLOAD, "k2")
        assert (outcome.verdict, outcome.detail) == (
            "reject",
            "SMTP 530: Must issue a STARTTLS command first",
        )


def test_implicit_tls_and_a_certificate_that_is_not_trusted(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    with smtp_server(implicit_tls=server_tls) as server:
        url = f"smtps://127.0.0.1:{server.port}"
        trusted = SmtpGateway(url, SENDER, 2, 10, 10, tls_context=client_tls)
        assert trusted.send(PAYLOAD, "k1").verdict == "accepted"
        untrusted = SmtpGateway(url, SENDER, 2, 10, 10)  # the system's CAs only
        outcome = untrusted.send(PAYLOAD, "k2")
        assert outcome.verdict == "retry"
        assert outcome.detail == "нет соединения с почтовым сервером (SSLCertVerificationError)"
        assert len(server.letters) == 1
