"""Request limits against guessing and flooding (Flask-Limiter), one place for their numbers.

Counters live in `RATELIMIT_STORAGE_URI`: Redis in production (required there, so every
worker and every server counts together), memory in development and tests.

- Applying a code: failures per client and per IP (`APPLY_CODE_FAILURE_LIMIT`).
- Signing in (clients and managers): failures per account (e-mail) and per IP; the windows are
  stacked, so the wait grows the longer the guessing goes on (`LOGIN_*_FAILURE_LIMIT`).
- Inviting: requests per member, per IP and per recipient (`INVITE_*_RATE_LIMIT`).

Only refusals count where the limit is about guessing (`deduct_when=refused`): a client who
types its friend's code right the first time never meets the limit. Every limit is on a POST:
reading a page is never limited, and costs no look at the limits at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user

from cabinet.extensions import limiter
from cabinet.texts import plural

View = TypeVar("View", bound=Callable[..., Any])

REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://", "redis+unix://")


# Counted requests are changes (POST); GET, HEAD and OPTIONS skip Flask-Limiter's per-request
# resolution of the limits that could apply (a tenth of a page's own work).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@limiter.request_filter
def _only_changes_are_limited() -> bool:
    return request.method in READ_METHODS


def configure(app: Flask) -> None:
    """Flask-Limiter's own settings, then the extension."""
    # The numbers themselves come from the environment (cabinet/config.py, LIMIT_DEFAULTS).
    app.config["RATELIMIT_HEADERS_ENABLED"] = True  # Retry-After on every refusal
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", False)
    limiter.init_app(app)


def uses_shared_storage(uri: str) -> bool:
    return uri.startswith(REDIS_SCHEMES)


def refused(response: Response) -> bool:
    """A refusal the limit counts: the form came back with an error (422)."""
    return response.status_code == 422


def _setting(name: str) -> Callable[[], str]:
    def read() -> str:
        return str(current_app.config[name])

    return read


def _client_key() -> str:
    # The session id names the account (a client's or a manager's); before sign-in, one bucket.
    return f"client:{current_user.get_id()}" if current_user.is_authenticated else "anonymous"


def _account_key() -> str:
    email = (request.form.get("email") or "").strip().lower()
    return f"account:{email}" if email else ""


def _recipient_key() -> str:
    recipient = "".join((request.form.get("recipient") or "").split()).lower()
    return f"recipient:{recipient}" if recipient else ""


def _ip_key() -> str:
    return f"ip:{get_remote_address()}"


def apply_code_limits(view: View) -> View:
    """«Применить»: refused codes per client and per IP."""
    per_ip = limiter.shared_limit(
        _setting("APPLY_CODE_IP_FAILURE_LIMIT"),
        scope="apply-code-ip",
        key_func=_ip_key,
        deduct_when=refused,
    )
    per_client = limiter.shared_limit(
        _setting("APPLY_CODE_FAILURE_LIMIT"),
        scope="apply-code-client",
        key_func=_client_key,
        deduct_when=refused,
    )
    limited = cast(View, per_ip(per_client(view)))
    return limited


def login_limits(view: View) -> View:
    """«Войти» (clients and managers share the counters): refused sign-ins per account, per IP."""
    per_ip = limiter.shared_limit(
        _setting("LOGIN_IP_FAILURE_LIMIT"),
        scope="login-ip",
        key_func=_ip_key,
        deduct_when=refused,
        methods=["POST"],
    )
    per_account = limiter.shared_limit(
        _setting("LOGIN_ACCOUNT_FAILURE_LIMIT"),
        scope="login-account",
        key_func=_account_key,
        deduct_when=refused,
        methods=["POST"],
    )
    limited = cast(View, per_ip(per_account(view)))
    return limited


def invite_limits(view: View) -> View:
    """«Пригласить»: every request per IP, per member and per recipient."""
    per_ip = limiter.limit(_setting("INVITE_RATE_LIMIT"), key_func=_ip_key)
    per_member = limiter.shared_limit(
        _setting("INVITE_MEMBER_RATE_LIMIT"), scope="invite-member", key_func=_client_key
    )
    per_recipient = limiter.shared_limit(
        _setting("INVITE_RECIPIENT_RATE_LIMIT"), scope="invite-recipient", key_func=_recipient_key
    )
    limited = cast(View, per_ip(per_member(per_recipient(view))))
    return limited


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request lets a request through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    try:
        return max(1, math.ceil(current.reset_at - time.time()))
    except Exception:  # the storage went away between the check and now  # noqa: BLE001
        return 60


def wait_text(seconds: int) -> str:
    """«через 3 минуты», «через 1 час», in the words a customer reads."""
    if seconds < 60:
        return f"через {seconds} {plural(seconds, 'секунду', 'секунды', 'секунд')}"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"через {minutes} {plural(minutes, 'минуту', 'минуты', 'минут')}"
    hours = math.ceil(minutes / 60)
    return f"через {hours} {plural(hours, 'час', 'часа', 'часов')}"
