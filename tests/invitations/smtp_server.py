"""A real SMTP server for tests (aiosmtpd, in a thread, on a free loopback port), with faults."""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


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

    def __init__(
        self,
        login: tuple[str, str] | None = None,
        starttls: ssl.SSLContext | None = None,
        implicit_tls: ssl.SSLContext | None = None,
    ) -> None:
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
        if starttls is not None:
            kwargs.update(tls_context=starttls, require_starttls=True)
        if implicit_tls is not None:
            kwargs["ssl_context"] = implicit_tls
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
def smtp_server(
    login: tuple[str, str] | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit_tls: ssl.SSLContext | None = None,
) -> Iterator[SmtpServer]:
    server = SmtpServer(login, starttls, implicit_tls)
    server.controller.start()
    try:
        yield server
    finally:
        server.faults = Faults()  # a slow handler must not hold the stop
        server.controller.stop()


def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context, and a client's context
    that trusts it (and checks the name, as in production)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.pem", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_path, key_path)
    client = ssl.create_default_context(cafile=str(cert_path))
    return server, client
