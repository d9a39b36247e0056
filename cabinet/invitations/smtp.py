"""The e-mail channel through an SMTP server (`SMTP_URL`), with `smtplib`.

The same outbox, lease, fencing and retries as the HTTP gateways; the same `send(payload, key)`
contract. SMTP has no Idempotency-Key: the letter's Message-ID is made from the invitation's
key (`<key@domain>`), the same on every attempt, so a copy sent again after a crash (the server
kept the letter, the worker died before recording it) is recognisable as the same letter.

What the server answers decides: a 2xx is accepted; a 4xx (greylisting, a full queue), a refused
connection, a dropped one, a refused login (a setting to fix, not the letter's fault) or a
call past the deadline is worth a retry; any other 5xx is final. A 5xx to
the recipient (RCPT TO, e.g. `550 5.1.1 no such user`) is a hard bounce: the address goes on the
stop list (`Outcome.hard_bounce`).

`SMTP_URL`: `smtp://[user:password@]host[:port]` (plain, port 25),
`smtp://…?starttls=1` (STARTTLS, port 587 by default; refused if the server does not offer it)
and `smtps://…` (TLS from the first byte, port 465). The login and password are percent-decoded.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cabinet.deadlines import watchdog
from cabinet.invitations import messages
from cabinet.invitations.gateway import Outcome

_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_STARTTLS_PORT = 587


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool  # smtps: TLS from the first byte
    starttls: bool
    user: str
    password: str


def parse_url(url: str) -> SmtpServer:
    """`SMTP_URL` checked at start-up: a clear message for anything it cannot use."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(
            f"SMTP_URL: нужен адрес smtp://host:port или smtps://host:port, а не {url!r}"
        )
    query = parse_qs(parts.query)
    starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "yes", "true")
    if starttls and parts.scheme == "smtps":
        raise ValueError("SMTP_URL: smtps:// уже шифрует соединение, starttls=1 не нужен.")
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"SMTP_URL: неверный порт в {url!r}") from exc
    if port is None:
        port = _STARTTLS_PORT if starttls else _DEFAULT_PORTS[parts.scheme]
    return SmtpServer(
        host=parts.hostname,
        port=port,
        tls=parts.scheme == "smtps",
        starttls=starttls,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
    )


class SmtpGateway:
    """One SMTP server; a connection per message (a worker sends a few letters a second at
    most, and a fresh connection never inherits a half-broken session)."""

    def __init__(
        self,
        url: str,
        sender: str,
        connect_timeout: float,
        read_timeout: float,
        deadline: float,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.server = parse_url(url)
        self.sender = sender
        self.deadline = deadline
        self.connect_timeout = min(connect_timeout, deadline)
        self.read_timeout = min(read_timeout, deadline)
        self.tls_context = tls_context or ssl.create_default_context()

    def send(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        letter = messages.smtp_letter(payload, idempotency_key, self.sender)
        with watchdog.watching(self.deadline) as call:
            try:
                self._deliver(letter, call.taken)
            except smtplib.SMTPAuthenticationError as exc:
                # Our configuration, not the letter: worth a retry once the login is fixed.
                return Outcome("retry", f"почтовый сервер не принял логин (SMTP {exc.smtp_code})")
            except smtplib.SMTPRecipientsRefused as exc:
                code, reply = next(iter(exc.recipients.values()))
                return _answer(code, reply, recipient=True)
            except smtplib.SMTPResponseException as exc:
                return _answer(exc.smtp_code, exc.smtp_error, recipient=False)
            except smtplib.SMTPNotSupportedError:
                return Outcome("retry", "почтовый сервер не поддерживает STARTTLS")
            except (smtplib.SMTPException, OSError) as exc:
                if call.fired:
                    return Outcome("retry", f"почтовый сервер не ответил за {self.deadline:g} с")
                if isinstance(exc, socket.timeout | TimeoutError):
                    return Outcome("retry", "почтовый сервер не ответил вовремя")
                return Outcome(
                    "retry", f"нет соединения с почтовым сервером ({type(exc).__name__})"
                )
        return Outcome("accepted", "SMTP 250")

    def _deliver(self, letter: Any, taken: list[Any]) -> None:
        server = self.server
        client: smtplib.SMTP
        if server.tls:
            client = smtplib.SMTP_SSL(timeout=self.connect_timeout, context=self.tls_context)
        else:
            client = smtplib.SMTP(timeout=self.connect_timeout)
        taken.append(client)  # the watchdog shuts `client.sock` down at the deadline
        # The name TLS checks the certificate against: smtplib takes it from the constructor
        # only, and a constructor given the host would connect before the watchdog sees it.
        client._host = server.host  # type: ignore[attr-defined]
        try:
            client.connect(server.host, server.port)
            if client.sock is not None:
                client.sock.settimeout(self.read_timeout)
            client.ehlo_or_helo_if_needed()
            if server.starttls:
                client.starttls(context=self.tls_context)
                client.ehlo()
            if server.user:
                client.login(server.user, server.password)
            client.send_message(letter)
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                pass  # the letter is accepted; a lost goodbye changes nothing
        finally:
            client.close()


def _answer(code: int, reply: bytes | str, recipient: bool) -> Outcome:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    detail = f"SMTP {code}: {' '.join(text.split())}"[:300]
    if 400 <= code < 500:
        return Outcome("retry", detail)
    return Outcome("reject", detail, hard_bounce=recipient and 500 <= code < 600)
