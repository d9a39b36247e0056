"""Configuration, read once from the environment in the app factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Development-only fallback; production refuses to start with it (see create_app).
DEFAULT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "instance" / "cabinet.sqlite3"


def default_database_url() -> str:
    DEFAULT_DATABASE_PATH.parent.mkdir(exist_ok=True)
    return f"sqlite:///{DEFAULT_DATABASE_PATH}"


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting the cabinet reads, with its documented default (README, «Настройки»)."""
    env = os.environ if environ is None else environ
    timezone = env.get("CABINET_TIMEZONE", "Europe/Moscow")
    ZoneInfo(timezone)  # fail at start-up, not at the first page, on a misspelt zone
    return {
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            env.get("DATABASE_URL") or default_database_url()
        ),
        "SECRET_KEY": env.get("SECRET_KEY", DEFAULT_SECRET_KEY),
        "CABINET_ENV": env.get("CABINET_ENV", "development"),
        "CABINET_TIMEZONE": timezone,
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "30000")),
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "30")),
        "PAGE_SIZE": int(env.get("PAGE_SIZE", "20")),
        "DEMO_MODE": env.get("DEMO_MODE", "0") == "1",
    }


def normalise_database_url(url: str) -> str:
    """Let operators write plain postgresql:// URLs; the cabinet speaks psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
