"""HTTP calls with an overall deadline, shared by every outbox worker (invitations, webhooks).

requests' read timeout bounds each wait between bytes only, so a server that trickles its
answer a byte every few seconds would hold the worker for as long as it likes; at the deadline
a watchdog shuts the call's socket down and the call ends as a timeout, worth a retry.
"""

from __future__ import annotations

import heapq
import itertools
import math
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.poolmanager import ProxyManager

from cabinet.clock import Clock


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
    """requests' adapter whose pools (direct, or through an HTTP proxy) let a watchdog find
    the socket of a call in flight."""

    WATCHED = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.WATCHED)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if type(manager) is ProxyManager:  # a SOCKS manager keeps its own pools (not watched)
            manager.pool_classes_by_scheme = dict(self.WATCHED)
        return manager


class _Call:
    """One gateway call under watch: the connections it took, its deadline, whether it was cut."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.taken: list[Any] = []
        self.fired = False
        self.done = False

    def cut(self) -> None:
        """Shut down every socket the call has taken (the plain socket's shutdown, under TLS
        too): the read blocked on it returns at once."""
        self.fired = True
        for conn in list(self.taken):
            sock = getattr(conn, "sock", None)
            if sock is not None:
                try:
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass


class _Watchdog:
    """One thread per process watches every call in flight, sleeping until the earliest
    deadline; a call costs a heap push, not a thread (a thread per call cost ~3 ms under load).
    A call past its deadline is cut, and cut again every 50 ms until it ends (a connection still
    being made has no socket yet)."""

    AGAIN = 0.05

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Call]] = []
        self._order = itertools.count()
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, seconds: float) -> Iterator[_Call]:
        call = _Call(time.monotonic() + seconds)
        with self._cond:
            heapq.heappush(self._heap, (call.deadline, next(self._order), call))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="gateway-deadlines", daemon=True
                )
                self._thread.start()
            elif call.deadline < self._wake_at:
                self._cond.notify()
        _calls.taken = call.taken
        try:
            yield call
        finally:
            _calls.taken = None
            with self._cond:
                call.done = True  # left in the heap: dropped when the watchdog gets to it

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and (self._heap[0][2].done or self._heap[0][0] <= now):
                    _, _, call = heapq.heappop(self._heap)
                    if not call.done:
                        call.cut()
                        again = now + self.AGAIN
                        heapq.heappush(self._heap, (again, next(self._order), call))
                self._wake_at = self._heap[0][0] if self._heap else math.inf
                timeout = None if not self._heap else max(0.0, self._wake_at - now)
                self._cond.wait(timeout)


watchdog = _Watchdog()


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
