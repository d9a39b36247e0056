from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.request import Request, urlopen

import pytest

from cabinet.simulator.server import SimulatorServer
from tests.servers import running

TOKEN = "simulator-token"


@dataclass
class Simulator:
    """A running gateway simulator on a free loopback port."""

    url: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = Request(  # noqa: S310 - loopback only
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())

    def faults(self, **faults: Any) -> None:
        self._call("POST", "/faults", faults)

    def messages(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/messages")["messages"]
        return result

    def requests(self) -> int:
        return int(self._call("GET", "/messages")["requests"])

    def held(self) -> int:
        """Requests waiting at the gateway (the `hold` fault) for `release()`."""
        return int(self._call("GET", "/messages")["held"])

    def release(self) -> None:
        """Held requests go on; returns once the gateway has answered every request."""
        self._call("POST", "/release", {})


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    server = SimulatorServer(("127.0.0.1", 0), TOKEN)
    with running(server):
        yield Simulator(f"http://127.0.0.1:{server.server_port}")


class _Trickle(BaseHTTPRequestHandler):
    """Answers 200, but a byte at a time, `gap` seconds apart: every wait between bytes is
    short, the whole answer takes `gap × len(ANSWER)` (or until the client hangs up)."""

    server: TricklingServer
    protocol_version = "HTTP/1.1"
    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Padding: " + b"." * 80 + b"\r\n\r\n{}"

    def do_POST(self) -> None:  # noqa: N802 - stdlib's name
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        state = self.server
        with state.lock:
            state.calls += 1
            state.open_calls += 1
        try:
            for byte in self.ANSWER:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                if state.stop.wait(state.gap):
                    break
        except OSError:
            pass  # the client hung up: what the deadline is for
        finally:
            self.close_connection = True
            with state.lock:
                state.open_calls -= 1

    def log_message(self, *args: object) -> None:
        pass


class TricklingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, gap: float) -> None:
        super().__init__(("127.0.0.1", 0), _Trickle)
        self.gap = gap
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.calls = 0
        self.open_calls = 0  # answers still trickling

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@pytest.fixture
def trickling() -> Iterator[TricklingServer]:
    """A gateway that trickles its answer a byte every 0.3 s (about 30 s in all)."""
    server = TricklingServer(gap=0.3)
    with running(server):
        try:
            yield server
        finally:
            server.stop.set()
