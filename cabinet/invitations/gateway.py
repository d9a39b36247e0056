"""The SMS and e-mail gateways, over HTTP: POST JSON, bearer token, Idempotency-Key.

Every call has an overall deadline (connect + the whole answer). requests' read timeout bounds
each wait between bytes only, so a gateway that trickles its answer a byte every few seconds
would hold the worker for as long as it likes; at the deadline a watchdog shuts the call's
socket down and the call ends as a timeout, worth a retry.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from cabinet.clock import Clock, SystemClock

Verdict = Literal["accepted", "retry", "reject"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    detail: str
    retry_after: float | None = None


class _Calls(threading.local):
    """The connections the current thread's gateway call has taken from a pool."""

    taken: list[Any] | None = None


_calls = _Calls()


class _Watched:
    """A pool that tells the current gateway call which connection it handed out."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        if _calls.taken is not None:
            _calls.taken.append(conn)
        return conn


class _WatchedHTTPPool(_Watched, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose pools let a watchdog find the socket of a call in flight."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


class _Watchdog:
    """From `seconds` on, shuts down every socket the call has taken, until the call ends
    (again and again: a connection still being made has no socket yet)."""

    def __init__(self, seconds: float) -> None:
        self.taken: list[Any] = []
        self.fired = threading.Event()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(seconds,), daemon=True)

    def __enter__(self) -> _Watchdog:
        _calls.taken = self.taken
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        _calls.taken = None
        self.thread.join()

    def _run(self, seconds: float) -> None:
        if self.done.wait(seconds):
            return
        self.fired.set()
        while True:
            for conn in list(self.taken):
                sock = getattr(conn, "sock", None)
                if sock is not None:
                    try:  # the plain socket's shutdown, also under TLS: wakes the blocked read
                        socket.socket.shutdown(sock, socket.SHUT_RDWR)
                    except OSError:
                        pass
            if self.done.wait(0.05):
                return


class HttpGateway:
    """One gateway. Any 2xx is accepted; 429, 5xx, timeouts and broken connections are worth
    a retry; any other answer (4xx, a redirect, which is never followed) is final."""

    def __init__(
        self,
        url: str,
        token: str,
        session: requests.Session,
        connect_timeout: float,
        read_timeout: float,
        clock: Clock | None = None,
        deadline: float | None = None,
    ) -> None:
        """`clock` reads the time a Retry-After date is measured from (the real time: the
        gateway's date is real whatever the demo time machine shows). `deadline` bounds the
        whole call, seconds (by default connect + read timeout)."""
        self.clock: Clock = clock or SystemClock()
        self.url = url
        self.token = token
        self.session = session
        self.deadline = deadline if deadline is not None else connect_timeout + read_timeout
        self.timeout = (connect_timeout, min(read_timeout, self.deadline))
        if not isinstance(session.get_adapter(url), DeadlineAdapter):
            scheme = url.split("://", 1)[0] + "://"
            session.mount(scheme, DeadlineAdapter())

    def send(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        headers = {"Idempotency-Key": idempotency_key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with _Watchdog(self.deadline) as watchdog:
            try:
                response = self.session.post(
                    self.url,
                    json=payload,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                if watchdog.fired.is_set():
                    return Outcome("retry", f"шлюз не ответил за {self.deadline:g} с")
                if isinstance(exc, requests.Timeout):
                    return Outcome("retry", "шлюз не ответил вовремя")
                return Outcome("retry", f"нет соединения со шлюзом ({type(exc).__name__})")
        status = response.status_code
        response.close()
        if 200 <= status < 300:
            return Outcome("accepted", f"HTTP {status}")
        if status == 429:
            return Outcome("retry", "HTTP 429", self._retry_after(response.headers))
        if status >= 500:
            return Outcome("retry", f"HTTP {status}", self._retry_after(response.headers))
        if 300 <= status < 400:
            return Outcome("reject", f"HTTP {status}: шлюз перенаправляет запрос")
        return Outcome("reject", f"HTTP {status}: шлюз отклонил сообщение")

    def _retry_after(self, headers: Mapping[str, str]) -> float | None:
        return retry_after_seconds(headers.get("Retry-After"), self.clock)


def retry_after_seconds(value: str | None, clock: Clock) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - clock.now()).total_seconds())
