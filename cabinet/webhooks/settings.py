"""Webhook settings, read once from the app's configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cabinet.backoff import Backoff


@dataclass(frozen=True)
class WebhookSettings:
    allow_http_loopback: bool
    backoff: Backoff
    lease_seconds: float = 60.0
    # The whole call, connect + the whole answer; a send starts only with this much of the
    # lease left, so it must be shorter than the lease.
    deadline_seconds: float = 15.0
    connect_timeout: float = 3.0
    read_timeout: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.deadline_seconds < self.lease_seconds:
            raise ValueError(
                "WEBHOOK_DEADLINE_SECONDS должен быть больше нуля и меньше WEBHOOK_LEASE_SECONDS."
            )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WebhookSettings:
        return cls(
            allow_http_loopback=bool(config.get("WEBHOOK_ALLOW_HTTP_LOOPBACK", False)),
            backoff=Backoff(
                base_seconds=float(config.get("WEBHOOK_BACKOFF_BASE_SECONDS", 5)),
                max_seconds=float(config.get("WEBHOOK_BACKOFF_MAX_SECONDS", 3600)),
                max_attempts=int(config.get("WEBHOOK_MAX_ATTEMPTS", 12)),
            ),
            lease_seconds=float(config.get("WEBHOOK_LEASE_SECONDS", 60)),
            deadline_seconds=float(config.get("WEBHOOK_DEADLINE_SECONDS", 15)),
            connect_timeout=float(config.get("WEBHOOK_CONNECT_TIMEOUT", 3)),
            read_timeout=float(config.get("WEBHOOK_READ_TIMEOUT", 10)),
        )
