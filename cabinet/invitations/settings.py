"""Invitation settings, read once from the app's configuration."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
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
    # E-mail through an SMTP server instead of EMAIL_GATEWAY_URL (cabinet/invitations/smtp.py).
    smtp_url: str | None = None
    mail_from: str = "Корпоративная АТС <invitations@localhost>"
    # The mailbox of `List-Unsubscribe: <mailto:…>` (support reads it); none: https only.
    unsubscribe_mailto: str | None = None
    # Signed gateway callbacks (receipts, inbound «СТОП»); empty: the endpoints answer 404.
    callback_secret: str = field(default="", repr=False)
    callback_window_seconds: float = 300.0
    # Invitees' raw contacts are kept this long after their message's fate is known, then
    # replaced by an HMAC under `contact_hash_key` (docs/privacy.md).
    retention_days: int = 30
    contact_hash_key: bytes = field(default=b"", repr=False)
    sms_sender: str = "KorpATS"  # the sender's alpha-name (SMS_SENDER_NAME)

    def __post_init__(self) -> None:
        if self.smtp_url:
            from cabinet.invitations.smtp import parse_url

            parse_url(self.smtp_url)  # a bad SMTP_URL stops the start, not the first letter
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
            smtp_url=config.get("SMTP_URL") or None,
            mail_from=config.get("MAIL_FROM") or cls.mail_from,
            unsubscribe_mailto=config.get("UNSUBSCRIBE_MAILTO") or None,
            callback_secret=str(config.get("GATEWAY_CALLBACK_SECRET") or ""),
            callback_window_seconds=float(config.get("GATEWAY_CALLBACK_WINDOW_SECONDS", 300)),
            retention_days=int(config.get("INVITEE_RETENTION_DAYS", 30)),
            contact_hash_key=_contact_hash_key(config),
            sms_sender=str(config.get("SMS_SENDER_NAME", "KorpATS")),
        )


def _contact_hash_key(config: Mapping[str, Any]) -> bytes:
    """`CONTACT_HASH_KEY`, or one derived from SECRET_KEY when unset (then changing
    SECRET_KEY loses the hashed contacts' matches: set it in production, docs/privacy.md)."""
    own = str(config.get("CONTACT_HASH_KEY") or "")
    if own:
        return own.encode()
    secret = str(config.get("SECRET_KEY") or "").encode()
    return hmac.new(secret, b"invitee-contacts", hashlib.sha256).digest()
