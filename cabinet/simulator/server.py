"""The simulator itself: a small threaded HTTP server with no dependencies beyond the stdlib.

Contract (the same as the real gateways, see docs/invitations.md):
    POST /sms    {"to": "+79101234567", "text": "..."}
    POST /email  {"to": "...", "subject": "...", "text": "...", "html": "..."}
    headers: Authorization: Bearer TOKEN, Idempotency-Key; any 2xx means accepted.
A repeated Idempotency-Key is answered 200 with the first message's id and stored once.

For people: GET / is the inbox (phones and mailboxes), refreshed every 3 seconds.
For tests: GET /messages (JSON), POST /faults (JSON, see Faults), POST /reset, and
POST /release: requests held by the `hold` fault go on; it answers once they are all done.
"""

from __future__ import annotations

import html
import json
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

SHOWN_ZONE = ZoneInfo("Europe/Moscow")


@dataclass
class Faults:
    error_rate: float = 0.0  # answer 500 without keeping the message
    ghost_rate: float = 0.0  # keep the message, then answer 500 (the sender must retry safely)
    rate_limit_rate: float = 0.0  # answer 429 with Retry-After
    retry_after: int = 1
    drop_rate: float = 0.0  # close the connection without an answer
    latency_ms: int = 0
    bad_request_rate: float = 0.0  # answer 400: a permanent failure
    hold: bool = False  # keep each request waiting until POST /release (a sender dies mid-send)


@dataclass
class Message:
    id: int
    channel: str
    key: str
    to: str
    text: str
    subject: str = ""
    html: str = ""
    received_at: str = ""


@dataclass
class State:
    token: str
    faults: Faults = field(default_factory=Faults)
    messages: list[Message] = field(default_factory=list)
    by_key: dict[str, Message] = field(default_factory=dict)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    busy: int = 0  # message requests not yet answered
    held: int = 0  # of them, waiting for POST /release
    releases: int = 0
    changed: threading.Condition = field(default_factory=threading.Condition)
    rng: random.Random = field(default_factory=lambda: random.Random(20230331))  # noqa: S311

    def roll(self, rate: float) -> bool:
        with self.lock:
            return rate > 0 and self.rng.random() < rate

    def wait_for_release(self) -> None:
        with self.changed:
            self.held += 1
            releases = self.releases
            self.changed.wait_for(lambda: self.releases != releases, timeout=60)
            self.held -= 1

    def release(self) -> None:
        """Let every held request go on; return once every message request is answered."""
        with self.changed:
            self.releases += 1
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.busy == 0, timeout=60)

    def counted(self, delta: int) -> None:
        with self.changed:
            self.busy += delta
            self.changed.notify_all()


class Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass  # quiet: the inbox page is the log

    # ---- sending -----------------------------------------------------------------------

    def do_POST(self) -> None:  # noqa: N802 - stdlib's name
        state = self.server.state
        body = self._body()
        if self.path in ("/sms", "/email"):
            state.counted(+1)
            try:
                self._accept(self.path[1:], body)
            finally:
                state.counted(-1)
        elif self.path == "/faults":
            try:
                state.faults = Faults(**json.loads(body or b"{}"))
            except (TypeError, ValueError) as exc:
                self._json(400, {"error": str(exc)})
                return
            self._json(200, asdict(state.faults))
        elif self.path == "/reset":
            with state.lock:
                state.messages.clear()
                state.by_key.clear()
                state.requests = 0
                state.faults = Faults()
            state.release()
            self._json(200, {"ok": True})
        elif self.path == "/release":
            state.release()
            self._json(200, {"ok": True})
        else:
            self._json(404, {"error": "not found"})

    def _accept(self, channel: str, body: bytes) -> None:
        state = self.server.state
        with state.lock:
            state.requests += 1
        faults = state.faults
        if state.token and self.headers.get("Authorization") != f"Bearer {state.token}":
            self._json(401, {"error": "bad token"})
            return
        key = self.headers.get("Idempotency-Key", "")
        if not key:
            self._json(400, {"error": "Idempotency-Key is required"})
            return
        try:
            data = json.loads(body)
            to, text = str(data["to"]), str(data["text"])
        except (ValueError, KeyError, TypeError):
            self._json(400, {"error": "expected JSON with to and text"})
            return
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.hold:
            state.wait_for_release()
        if state.roll(faults.drop_rate):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if state.roll(faults.rate_limit_rate):
            self._json(429, {"error": "slow down"}, {"Retry-After": str(faults.retry_after)})
            return
        if state.roll(faults.error_rate):
            self._json(503, {"error": "injected failure"})
            return
        if state.roll(faults.bad_request_rate):
            self._json(400, {"error": "injected rejection"})
            return
        with state.lock:
            message = state.by_key.get(key)
            if message is None:
                message = Message(
                    id=len(state.messages) + 1,
                    channel=channel,
                    key=key,
                    to=to,
                    text=text,
                    subject=str(data.get("subject", "")),
                    html=str(data.get("html", "")),
                    received_at=datetime.now(UTC).isoformat(),
                )
                state.messages.append(message)
                state.by_key[key] = message
        if state.roll(faults.ghost_rate):
            self._json(500, {"error": "injected failure after storing"})
            return
        self._json(200, {"id": message.id})

    # ---- reading -----------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - stdlib's name
        state = self.server.state
        if self.path == "/messages":
            with state.lock:
                items = [asdict(m) for m in state.messages]
                requests = state.requests
            self._json(200, {"messages": items, "requests": requests, "held": state.held})
        elif self.path == "/faults":
            self._json(200, asdict(state.faults))
        elif self.path in ("/", "/index.html"):
            self._send(200, "text/html; charset=utf-8", self._inbox().encode())
        else:
            self._json(404, {"error": "not found"})

    def _inbox(self) -> str:
        state = self.server.state
        with state.lock:
            messages = list(reversed(state.messages))
        rows = []
        for m in messages:
            icon = "SMS" if m.channel == "sms" else "Email"
            subject = f"<b>{html.escape(m.subject)}</b><br>" if m.subject else ""
            rows.append(
                f"<article><header><span class='tag'>{icon}</span> "
                f"<b>{html.escape(m.to)}</b> <time datetime='{html.escape(m.received_at)}'>"
                f"{_shown(m.received_at)}</time>"
                f"</header><p>{subject}{html.escape(m.text).replace(chr(10), '<br>')}</p></article>"
            )
        body = "".join(rows) or "<p class='empty'>Сообщений пока нет.</p>"
        return (
            "<!doctype html><html lang='ru'><head><meta charset='utf-8'>"
            "<meta http-equiv='refresh' content='3'><meta name='viewport' "
            "content='width=device-width, initial-scale=1'><title>Симулятор шлюзов</title>"
            "<style>body{font-family:sans-serif;max-width:760px;margin:2rem auto;padding:0 1rem;"
            "background:#f3f5f9;color:#1b2433}article{background:#fff;border-radius:10px;"
            "padding:1rem;margin:.75rem 0;box-shadow:0 1px 3px #0002}.tag{background:#0b4fbf;"
            "color:#fff;border-radius:6px;padding:0 .4rem;font-size:.8rem}time{color:#56627a;"
            "font-size:.85rem;margin-left:.5rem}.empty{color:#56627a}"
            "article p{overflow-wrap:anywhere}</style></head><body>"
            f"<h1>Входящие: телефоны и почтовые ящики</h1><p>Сообщений: {len(messages)}. "
            "Страница обновляется каждые 3 секунды.</p>"
            f"{body}</body></html>"
        )

    # ---- plumbing ----------------------------------------------------------------------

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1_000_000)) if length else b""

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(
            status, "application/json", json.dumps(data, ensure_ascii=False).encode(), headers
        )

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _shown(received_at: str) -> str:
    """«31.03.2023 15:18:04 МСК»: read by the same people, in the same zone, as the cabinet."""
    moment = datetime.fromisoformat(received_at).astimezone(SHOWN_ZONE)
    return f"{moment:%d.%m.%Y %H:%M:%S} МСК"


class SimulatorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], token: str = "") -> None:
        super().__init__(address, Handler)
        self.state = State(token=token)


def serve(host: str, port: int, token: str = "") -> None:
    server = SimulatorServer((host, port), token)
    print(f"Симулятор шлюзов: http://{host}:{port}/  (SMS: /sms, email: /email)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
