"""Configuration, read once from the environment in the app factory."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from cabinet.passwords import PRODUCTION_METHOD

# The development key this project once published. It is never used again, and production
# refuses it; without SECRET_KEY, development makes a random key per instance.
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105

# Request limits (cabinet/limits.py, docs/security.md); each can be set from the environment.
LIMIT_DEFAULTS = {
    "APPLY_CODE_FAILURE_LIMIT": "10 per hour",
    "APPLY_CODE_IP_FAILURE_LIMIT": "30 per hour",
    # Per account and address, stacked windows, so the wait grows: 5 tries, then a minute;
    # 10, a quarter of an hour; 20, an hour; 50, a day.
    "LOGIN_ACCOUNT_FAILURE_LIMIT": "5 per minute;10 per 15 minutes;20 per hour;50 per day",
    # Per account from every address: a ceiling on spread-out guessing that one address alone
    # (20 an hour above) never reaches.
    "LOGIN_ACCOUNT_CEILING_LIMIT": "60 per hour;200 per day",
    "LOGIN_IP_FAILURE_LIMIT": "20 per minute;60 per hour;300 per day",
    "INVITE_RATE_LIMIT": "10 per minute;100 per day",
    "INVITE_MEMBER_RATE_LIMIT": "5 per minute;40 per day",
    "INVITE_RECIPIENT_RATE_LIMIT": "3 per hour;5 per day",
    # The personal link /r/<code>: unknown codes per IP (a read: counted by the view itself).
    "PERSONAL_LINK_MISS_LIMIT": "20 per hour;100 per day",
    # The SMS's refusal link /s/<token>: unknown tokens per IP (the page and its button).
    "REFUSAL_LINK_MISS_LIMIT": "20 per hour;100 per day",
}

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "instance" / "cabinet.sqlite3"
DEFAULT_STATIC_BUILD_DIR = PROJECT_ROOT / "instance" / "static"


def default_database_url() -> str:
    DEFAULT_DATABASE_PATH.parent.mkdir(exist_ok=True)
    return f"sqlite:///{DEFAULT_DATABASE_PATH}"


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting the cabinet reads, with its documented default (docs/configuration.md)."""
    env = os.environ if environ is None else environ
    timezone = env.get("CABINET_TIMEZONE", "Europe/Moscow")
    ZoneInfo(timezone)  # fail at start-up, not at the first page, on a misspelt zone
    environment = env.get("CABINET_ENV", "development")
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL") or default_database_url()
        ),
        # Empty when unset: create_app() makes a random one (development) or refuses (production).
        "SECRET_KEY": env.get("SECRET_KEY", ""),
        "CABINET_ENV": environment,
        # Operations (docs/operations.md): the log lines' format, the token /metrics asks for
        # (unset: /metrics answers only requests from this host).
        "LOG_FORMAT": env.get("LOG_FORMAT") or ("json" if environment == "production" else "text"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "CABINET_TIMEZONE": timezone,
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "30000")),
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "30")),
        "PAGE_SIZE": int(env.get("PAGE_SIZE", "20")),
        "DEMO_MODE": env.get("DEMO_MODE", "0") == "1",
        "CABINET_BASE_URL": env.get("CABINET_BASE_URL", "http://127.0.0.1:5000"),
        # Serving (docs/deploy.md)
        "STATIC_BUILD_DIR": env.get("STATIC_BUILD_DIR") or str(DEFAULT_STATIC_BUILD_DIR),
        # «Подробнее об SMS опциях»: the operator's page about SMS packs; unset, no link.
        "SMS_OPTIONS_URL": _web_address(env.get("SMS_OPTIONS_URL", "").strip(), "SMS_OPTIONS_URL"),
        # Invitations (docs/invitations.md)
        "SMS_GATEWAY_URL": env.get("SMS_GATEWAY_URL") or None,
        "EMAIL_GATEWAY_URL": env.get("EMAIL_GATEWAY_URL") or None,
        "SMS_GATEWAY_TOKEN": env.get("SMS_GATEWAY_TOKEN", env.get("GATEWAY_TOKEN", "")),
        "EMAIL_GATEWAY_TOKEN": env.get("EMAIL_GATEWAY_TOKEN", env.get("GATEWAY_TOKEN", "")),
        # E-mail through an SMTP server (smtp://, smtps://, ?starttls=1), instead of the gateway.
        "SMTP_URL": env.get("SMTP_URL") or None,
        "MAIL_FROM": env.get("MAIL_FROM", "Корпоративная АТС <invitations@localhost>"),
        "UNSUBSCRIBE_MAILTO": env.get("UNSUBSCRIBE_MAILTO") or None,
        # Signed delivery receipts and inbound SMS from the gateways (docs/invitations.md).
        "GATEWAY_CALLBACK_SECRET": env.get("GATEWAY_CALLBACK_SECRET", ""),
        "GATEWAY_CALLBACK_WINDOW_SECONDS": float(env.get("GATEWAY_CALLBACK_WINDOW_SECONDS", "300")),
        # Invitees' contacts (docs/privacy.md): raw this many days after their fate is known,
        # then an HMAC under CONTACT_HASH_KEY (unset: derived from SECRET_KEY).
        "INVITEE_RETENTION_DAYS": int(env.get("INVITEE_RETENTION_DAYS", "30")),
        "CONTACT_HASH_KEY": env.get("CONTACT_HASH_KEY", ""),
        "GATEWAY_CONNECT_TIMEOUT": float(env.get("GATEWAY_CONNECT_TIMEOUT", "3")),
        "GATEWAY_READ_TIMEOUT": float(env.get("GATEWAY_READ_TIMEOUT", "10")),
        # The whole call (connect + the whole answer); shorter than INVITE_LEASE_SECONDS.
        "GATEWAY_DEADLINE_SECONDS": float(env.get("GATEWAY_DEADLINE_SECONDS", "15")),
        "GATEWAY_BREAKER_THRESHOLD": int(env.get("GATEWAY_BREAKER_THRESHOLD", "5")),
        "GATEWAY_BREAKER_COOLDOWN_SECONDS": float(
            env.get("GATEWAY_BREAKER_COOLDOWN_SECONDS", "30")
        ),
        "INVITE_MAX_ATTEMPTS": int(env.get("INVITE_MAX_ATTEMPTS", "8")),
        "INVITE_BACKOFF_BASE_SECONDS": float(env.get("INVITE_BACKOFF_BASE_SECONDS", "2")),
        "INVITE_BACKOFF_MAX_SECONDS": float(env.get("INVITE_BACKOFF_MAX_SECONDS", "600")),
        "INVITE_LEASE_SECONDS": float(env.get("INVITE_LEASE_SECONDS", "60")),
        "INVITE_DAILY_CAP": int(env.get("INVITE_DAILY_CAP", "20")),
        # Signed webhooks (docs/webhooks.md): plain http to 127.0.0.1 only outside production.
        "WEBHOOK_ALLOW_HTTP_LOOPBACK": env.get(
            "WEBHOOK_ALLOW_HTTP_LOOPBACK", "0" if environment == "production" else "1"
        )
        == "1",
        "WEBHOOK_MAX_ATTEMPTS": int(env.get("WEBHOOK_MAX_ATTEMPTS", "12")),
        "WEBHOOK_BACKOFF_BASE_SECONDS": float(env.get("WEBHOOK_BACKOFF_BASE_SECONDS", "5")),
        "WEBHOOK_BACKOFF_MAX_SECONDS": float(env.get("WEBHOOK_BACKOFF_MAX_SECONDS", "3600")),
        "WEBHOOK_LEASE_SECONDS": float(env.get("WEBHOOK_LEASE_SECONDS", "60")),
        "WEBHOOK_DEADLINE_SECONDS": float(env.get("WEBHOOK_DEADLINE_SECONDS", "15")),
        "WEBHOOK_CONNECT_TIMEOUT": float(env.get("WEBHOOK_CONNECT_TIMEOUT", "3")),
        "WEBHOOK_READ_TIMEOUT": float(env.get("WEBHOOK_READ_TIMEOUT", "10")),
        "INVITE_RECIPIENT_COOLDOWN_DAYS": int(env.get("INVITE_RECIPIENT_COOLDOWN_DAYS", "7")),
        "SMS_DAILY_BUDGET": int(env.get("SMS_DAILY_BUDGET", "500")),
        "SMS_COUNTRIES": env.get("SMS_COUNTRIES", "RU"),
        # The sender's alpha-name the SMS gateway shows (registered with the operator).
        "SMS_SENDER_NAME": sms_sender_name(env.get("SMS_SENDER_NAME", "KorpATS")),
        "SMS_MEMBER_DAILY_CAP": int(env.get("SMS_MEMBER_DAILY_CAP", "5")),
        "SMS_NEW_MEMBER_DAILY_CAP": int(env.get("SMS_NEW_MEMBER_DAILY_CAP", "2")),
        "SMS_NEW_MEMBER_DAYS": int(env.get("SMS_NEW_MEMBER_DAYS", "7")),
        "SMS_RESERVE": int(env.get("SMS_RESERVE", "100")),
        **{name: env.get(name, default) for name, default in LIMIT_DEFAULTS.items()},
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # The cache of rendered pages and answers (cabinet/conditional.py): Redis (unset: the
        # limits' Redis, when they have one) or, with neither, this many bytes in each process.
        "FRAGMENT_CACHE_URL": env.get("FRAGMENT_CACHE_URL", ""),
        "FRAGMENT_CACHE_BYTES": int(env.get("FRAGMENT_CACHE_BYTES", str(32 * 1024 * 1024))),
        # The revisit gate answers repeated reads before Flask (cabinet/revisits); 0: Flask does.
        "REVISIT_GATE": env.get("REVISIT_GATE", "1") == "1",
        # Not read from the environment: only a test run may pick another (cabinet/passwords.py).
        "PASSWORD_HASH_METHOD": PRODUCTION_METHOD,
        "RATELIMIT_KEY_PREFIX": env.get("RATELIMIT_KEY_PREFIX", "cabinet"),
        # How long a request waits for Redis before the limits count in memory (cabinet/limits.py).
        "RATELIMIT_REDIS_TIMEOUT_SECONDS": float(env.get("RATELIMIT_REDIS_TIMEOUT_SECONDS", "0.5")),
        # Reverse proxies in front of the cabinet whose X-Forwarded-For/-Proto/-Host to trust
        # (nginx on the same host: 1). 0: the peer's address is the client's.
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        # The database must answer quickly or not at all: a hung server costs one request a few
        # seconds, not a worker (cabinet/db.py).
        "DB_CONNECT_TIMEOUT_SECONDS": int(env.get("DB_CONNECT_TIMEOUT_SECONDS", "3")),
        "DB_STATEMENT_TIMEOUT_MS": int(env.get("DB_STATEMENT_TIMEOUT_MS", "10000")),
        "DB_POOL_TIMEOUT_SECONDS": int(env.get("DB_POOL_TIMEOUT_SECONDS", "5")),
        **oidc_settings(env),
    }


def oidc_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Sign-in through the operator's identity provider (docs/security.md, «Вход через OpenID
    Connect»): on when the issuer, the client id and its secret are all set."""
    issuer = env.get("OIDC_ISSUER", "").strip().rstrip("/")
    client_id = env.get("OIDC_CLIENT_ID", "").strip()
    secret = env.get("OIDC_CLIENT_SECRET", "")
    given = [
        name
        for name, value in (
            ("OIDC_ISSUER", issuer),
            ("OIDC_CLIENT_ID", client_id),
            ("OIDC_CLIENT_SECRET", secret),
        )
        if value
    ]
    if given and len(given) < 3:
        raise ValueError(
            "Для входа через OpenID Connect нужны все три переменные: OIDC_ISSUER, "
            f"OIDC_CLIENT_ID и OIDC_CLIENT_SECRET (заданы только {', '.join(given)})."
        )
    _web_address(issuer, "OIDC_ISSUER")
    scopes = env.get("OIDC_SCOPES", "openid email")
    if issuer and "openid" not in scopes.split():
        raise ValueError(f"OIDC_SCOPES должен включать openid (сейчас {scopes!r}).")
    production = env.get("CABINET_ENV", "development") == "production"
    if production and issuer.startswith("http://"):
        raise ValueError("В production OIDC_ISSUER — только адрес https://.")
    # Password sign-in stays for demo and development; in production with a provider it is
    # off unless PASSWORD_SIGN_IN=1 says otherwise.
    password_default = "0" if (issuer and production) else "1"
    return {
        "OIDC_ISSUER": issuer or None,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": secret,
        "OIDC_SCOPES": scopes,
        "OIDC_CLIENT_ID_CLAIM": env.get("OIDC_CLIENT_ID_CLAIM", "pbx_client_id"),
        "OIDC_MANAGER_ROLE_CLAIM": env.get("OIDC_MANAGER_ROLE_CLAIM", "pbx_roles"),
        "OIDC_MANAGER_ROLE": env.get("OIDC_MANAGER_ROLE", "pbx-referral-manager"),
        "OIDC_EMAIL_CLAIM": env.get("OIDC_EMAIL_CLAIM", "email"),
        "OIDC_TIMEOUT_SECONDS": float(env.get("OIDC_TIMEOUT_SECONDS", "5")),
        "OIDC_CLOCK_SKEW_SECONDS": int(env.get("OIDC_CLOCK_SKEW_SECONDS", "60")),
        "PASSWORD_SIGN_IN": env.get("PASSWORD_SIGN_IN", password_default) == "1",
    }


_SENDER_NAME = re.compile(r"[A-Za-z0-9]{1,11}")


def sms_sender_name(value: str) -> str:
    """An SMS alpha-name: 1–11 Latin letters and digits (what SMS networks carry)."""
    name = value.strip()
    if not _SENDER_NAME.fullmatch(name):
        raise ValueError(f"SMS_SENDER_NAME: от 1 до 11 латинских букв и цифр, а не {value!r}")
    return name


def _web_address(value: str, name: str) -> str | None:
    """An http(s) address or nothing; anything else is refused at start-up (it becomes a link)."""
    if not value:
        return None
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"{name}: нужен адрес http:// или https://, а не {value!r}")
    return value


def normalise_database_url(url: str) -> str:
    """Let operators write plain postgresql:// URLs; the cabinet speaks psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
