"""The SMS and e-mail gateways, over HTTP: POST JSON, bearer token, Idempotency-Key.

Every call has an overall deadline (connect + the whole answer), kept by the watchdog of
`cabinet/deadlines.py`: a gateway that trickles its answer is cut off and the call ends as a
timeout, worth a retry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import requests

from cabinet import logs
from cabinet.clock import Clock, SystemClock
from cabinet.deadlines import DeadlineAdapter, retry_after_seconds, watchdog

Verdict = Literal["accepted", "retry", "reject"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    detail: str
    retry_after: float | None = None
    hard_bounce: bool = False  # the recipient does not exist: the address goes on the stop list


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
        request_id = logs.current_request_id()  # the worker's for this message (cabinet/logs.py)
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with watchdog.watching(self.deadline) as call:
            try:
                response = self.session.post(
                    self.url,
                    json=payload,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                if call.fired:
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
