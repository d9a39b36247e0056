"""Invitation settings, read once from the app's configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cabinet.invitations.rules import Backoff, Limits


@dataclass(frozen=True)
class GatewayConfig:
    url: str | None
    token: str


@dataclass(frozen=True)
class InvitationSettings:
    limits: Limits
    backoff: Backoff
    sms: GatewayConfig
    email: GatewayConfig
    connect_timeout: float
    read_timeout: float
    lease_seconds: float
    breaker_threshold: int
    breaker_cooldown_seconds: float
    # The whole gateway call, connect + the whole answer; a send starts only with this much
    # of the lease left, so it must be shorter than the lease.
    deadline_seconds: float = 15.0
    sms_sender: str = "KorpATS"  # the sender's alpha-name (SMS_SENDER_NAME)

    def __post_init__(self) -> None:
        if not 0 < self.deadline_seconds < self.lease_seconds:
            raise ValueError(
                "GATEWAY_DEADLINE_SECONDS должен быть больше нуля и меньше INVITE_LEASE_SECONDS: "
                "отправка начинается, только если до конца аренды она успеет закончиться."
            )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> InvitationSettings:
        return cls(
            limits=Limits(
                daily_cap=int(config["INVITE_DAILY_CAP"]),
                recipient_cooldown_days=int(config["INVITE_RECIPIENT_COOLDOWN_DAYS"]),
                sms_daily_budget=int(config["SMS_DAILY_BUDGET"]),
                sms_countries=tuple(
                    c.strip().upper() for c in str(config["SMS_COUNTRIES"]).split(",") if c.strip()
                ),
                sms_member_daily=int(config["SMS_MEMBER_DAILY_CAP"]),
                sms_new_member_daily=int(config["SMS_NEW_MEMBER_DAILY_CAP"]),
                new_member_days=int(config["SMS_NEW_MEMBER_DAYS"]),
                sms_reserve=int(config["SMS_RESERVE"]),
            ),
            backoff=Backoff(
                base_seconds=float(config["INVITE_BACKOFF_BASE_SECONDS"]),
                max_seconds=float(config["INVITE_BACKOFF_MAX_SECONDS"]),
                max_attempts=int(config["INVITE_MAX_ATTEMPTS"]),
            ),
            sms=GatewayConfig(config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_TOKEN"]),
            email=GatewayConfig(config["EMAIL_GATEWAY_URL"], config["EMAIL_GATEWAY_TOKEN"]),
            connect_timeout=float(config["GATEWAY_CONNECT_TIMEOUT"]),
            read_timeout=float(config["GATEWAY_READ_TIMEOUT"]),
            lease_seconds=float(config["INVITE_LEASE_SECONDS"]),
            breaker_threshold=int(config["GATEWAY_BREAKER_THRESHOLD"]),
            breaker_cooldown_seconds=float(config["GATEWAY_BREAKER_COOLDOWN_SECONDS"]),
            deadline_seconds=float(config.get("GATEWAY_DEADLINE_SECONDS", 15.0)),
            sms_sender=str(config.get("SMS_SENDER_NAME", "KorpATS")),
        )
