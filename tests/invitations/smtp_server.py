"""A real SMTP server for tests (aiosmtpd, in a thread, on a free loopback port), with faults."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session


def free_port() -> int:
    """A loopback port nobody listens on (for a server that is down, or to start one on)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class Faults:
    """What the server does; changed by the test while it runs."""

    rcpt_reply: str | None = None  # e.g. "550 5.1.1 no such user": refuse the recipient
    data_reply: str | None = None  # e.g. "451 4.3.0 try later": refuse the letter
    rcpt_delay: float = 0.0  # seconds before answering RCPT TO (nothing kept)
    data_delay: float = 0.0  # seconds after keeping the letter, before answering
    tempfail_rate: float = 0.0  # 451 at DATA, nothing kept
    ghost_rate: float = 0.0  # the letter is kept, then 451 (a retry must be recognisable)
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        faults = self.server.faults
        with self.server.lock:
            self.server.recipients_asked += 1
        if faults.rcpt_delay:
            await asyncio.sleep(faults.rcpt_delay)
        if faults.rcpt_reply:
            return faults.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's name
        self, server: Any, session: Session, envelope: Envelope
    ) -> str:
        faults = self.server.faults
        with self.server.lock:
            self.server.transactions += 1
            roll = faults.rng.random()
        if faults.data_reply:
            return faults.data_reply
        if roll < faults.tempfail_rate:
            return "451 4.3.0 временно не принимаем"
        content = envelope.content
        assert isinstance(content, bytes)
        letter = message_from_bytes(content, policy=policy.SMTP)
        assert isinstance(letter, EmailMessage)
        with self.server.lock:
            self.server.letters.append(letter)
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if faults.data_delay:
            await asyncio.sleep(faults.data_delay)
        if roll < faults.tempfail_rate + faults.ghost_rate:
            return "451 4.3.0 сбой после приёма"
        return "250 OK"


class SmtpServer:
    """`letters`: every letter the server kept (a duplicate kept twice)."""

    def __init__(self, login: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.faults = Faults()
        self.lock = threading.Lock()
        self.letters: list[EmailMessage] = []
        self.envelopes: list[tuple[str | None, list[str]]] = []
        self.transactions = 0
        self.recipients_asked = 0  # RCPT TO commands received (answered or not)
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if login is not None:
            kwargs = {
                "authenticator": self._authenticator(login),
                "auth_require_tls": False,
                "auth_exclude_mechanism": ["LOGIN"],  # PLAIN: one exchange, a clear 535
            }
        self.controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs
        )

    def _authenticator(self, expected: tuple[str, str]) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == expected
            )
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok, handled=False)

        return check

    def url(self, user: str = "") -> str:
        return f"smtp://{user}127.0.0.1:{self.port}"

    def message_ids(self) -> list[str]:
        with self.lock:
            return [str(letter["Message-ID"]) for letter in self.letters]


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[SmtpServer]:
    server = SmtpServer(login)
    server.controller.start()
    try:
        yield server
    finally:
        server.faults = Faults()  # a slow handler must not hold the stop
        server.controller.stop()
