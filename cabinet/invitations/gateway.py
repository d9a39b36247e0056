"""The SMS and e-mail gateways, over HTTP: POST JSON, bearer token, Idempotency-Key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, Literal

import requests

from cabinet import logs
from cabinet.clock import Clock, SystemClock

Verdict = Literal["accepted", "retry", "reject"]


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    detail: str
    retry_after: float | None = None


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
    ) -> None:
        """`clock` reads the time a Retry-After date is measured from (the real time: the
        gateway's date is real whatever the demo time machine shows)."""
        self.clock: Clock = clock or SystemClock()
        self.url = url
        self.token = token
        self.session = session
        self.timeout = (connect_timeout, read_timeout)

    def send(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        headers = {"Idempotency-Key": idempotency_key}
        request_id = logs.current_request_id()  # the worker's for this message (cabinet/logs.py)
        if request_id is not None:
            headers["X-Request-Id"] = request_id
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.post(
                self.url,
                json=payload,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.Timeout:
            return Outcome("retry", "шлюз не ответил вовремя")
        except requests.RequestException as exc:
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
