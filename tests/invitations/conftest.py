from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
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
