"""Request limits against guessing and flooding (Flask-Limiter), one place for their numbers.

Counters live in `RATELIMIT_STORAGE_URI`: Redis in production (required there, so every
worker and every server counts together), memory in development and tests.

- Applying a code: failures per client (the account, whatever its session: signing out starts
  no new count) and per IP (`APPLY_CODE_*FAILURE_LIMIT`). The same code submitted again by the
  same client within `REPEAT_SECONDS` (a double click) is not another guess.
- Signing in: failures per account *and address* (the windows are stacked, so the wait grows the
  longer the guessing goes on: `LOGIN_ACCOUNT_FAILURE_LIMIT`), a slower ceiling per account from
  every address (`LOGIN_ACCOUNT_CEILING_LIMIT`), and per IP (`LOGIN_IP_FAILURE_LIMIT`). The
  clients' form and the managers' form count apart: a stranger guessing at one address cannot
  lock the account's owner out at another, nor a manager out of the panel from the clients' form.
- The personal link /r/<code> (a read): unknown codes per IP (`PERSONAL_LINK_MISS_LIMIT`), counted
  by its own decorator from the answer (a 404), since Flask-Limiter's check skips reads.
- The SMS's refusal link /s/<token> (a read and its button): unknown tokens per IP
  (`REFUSAL_LINK_MISS_LIMIT`), counted the same way.
- Inviting: requests per member and per IP, signed-in only; invitations accepted for a
  recipient, per recipient (`INVITE_*_RATE_LIMIT`): signed-out posts and refusals spend nobody's.

Only refusals count where the limit is about guessing (`deduct_when=refused`): a client who
types its friend's code right the first time never meets the limit. Every limit is on a POST:
reading a page is never limited, and costs no look at the limits at all.

Redis unreachable (a closed port, a server that hangs): each process counts in its own memory
(Flask-Limiter's in-memory fallback), says so loudly in the log, counts the switch
(`storage_fallbacks()`), and `/readyz` names the degraded dependency; Redis is asked again now
and then, and counting is shared again once it answers (cabinet/extensions.py).
"""

from __future__ import annotations

import functools
import hashlib
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, make_response, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItemPerSecond, parse_many
from limits.strategies import RateLimiter

from cabinet.extensions import StorageFallbacks, limiter
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
    # Redis unreachable: count in this process's memory (logged, counted, shown by /readyz)
    # rather than answer 500 to «Войти»; Flask-Limiter asks Redis again now and then.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    if uses_shared_storage(str(app.config["RATELIMIT_STORAGE_URI"])):
        # A Redis that hangs costs a request this long, not the client library's 5 s.
        seconds = float(app.config["RATELIMIT_REDIS_TIMEOUT_SECONDS"])
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {"socket_connect_timeout": seconds, "socket_timeout": seconds},
        )
    limiter.init_app(app)


def storage_fallbacks() -> int:
    """How many times this process fell back to counting in memory (for a metric)."""
    return StorageFallbacks.count


def degraded() -> bool:
    """The app's limits count in this process's memory: the shared storage does not answer.
    Asks the storage now (bounded by RATELIMIT_REDIS_TIMEOUT_SECONDS)."""
    if not uses_shared_storage(str(current_app.config["RATELIMIT_STORAGE_URI"])):
        return False
    return not limiter.storage_answers()


def uses_shared_storage(uri: str) -> bool:
    return uri.startswith(REDIS_SCHEMES)


REPEAT_SECONDS = 10
_REPEAT = RateLimitItemPerSecond(1, REPEAT_SECONDS)


def refused(response: Response) -> bool:
    """A refusal the limit counts: the form came back with an error (422)."""
    return response.status_code == 422


def refused_guess(response: Response) -> bool:
    """A refused code that is a new guess: not the same code again within seconds."""
    return refused(response) and not g.get("repeated_code", False)


def accepted(response: Response) -> bool:
    """The request did what it asked (an invitation queued), so it counts toward the limit."""
    return response.status_code < 400


def _setting(name: str) -> Callable[[], str]:
    def read() -> str:
        return str(current_app.config[name])

    return read


def _client_key() -> str:
    # The account (a client's or a manager's «m…»), without the session version the session id
    # carries: a new session is the same client. Before sign-in, one bucket.
    if not current_user.is_authenticated:
        return "anonymous"
    account, _, _session_version = str(current_user.get_id()).partition(".")
    return f"client:{account}"


def _email() -> str:
    return (request.form.get("email") or "").strip().lower()


def _account_key() -> str:
    email = _email()
    return f"account:{email}" if email else ""


def _account_address_key() -> str:
    email = _email()
    return f"account:{email}:{_ip_key()}" if email else ""


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
        deduct_when=refused_guess,
    )
    per_client = limiter.shared_limit(
        _setting("APPLY_CODE_FAILURE_LIMIT"),
        scope="apply-code-client",
        key_func=_client_key,
        deduct_when=refused_guess,
    )
    limited = cast(View, per_ip(per_client(_notes_repeats(view))))
    return limited


def _notes_repeats(view: View) -> View:
    """Before the view runs, note whether this client submitted this code within the last
    REPEAT_SECONDS: a double click's second submit, refused because the first one won, or the
    same wrong code again, tells nothing new and is no guess (`refused_guess`). Noted at the
    start, so of two racing submits the later one is the repeat, whichever finishes first."""

    @functools.wraps(view)
    def noting(*args: Any, **kwargs: Any) -> Any:
        code = "".join((request.form.get("code") or "").split()).lower()[:64]
        if code:
            digest = hashlib.sha256(code.encode()).hexdigest()[:16]
            prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX", ""))
            key = (prefix, "apply-code-repeat", _client_key(), digest)
            try:
                g.repeated_code = not limiter.limiter.hit(_REPEAT, *key)
            except Exception:  # the storage failed since the check: count it as a guess  # noqa: BLE001
                current_app.logger.warning("rate limits: repeat check failed", exc_info=True)
                g.repeated_code = False
        return view(*args, **kwargs)

    return cast(View, noting)


def login_limits(form: str) -> Callable[[View], View]:
    """«Войти» at one form (`client` or `manager`; each counts its own): refused sign-ins per
    account and address, per account from every address (a slower ceiling), and per IP."""

    def decorate(view: View) -> View:
        per_ip = limiter.shared_limit(
            _setting("LOGIN_IP_FAILURE_LIMIT"),
            scope="login-ip",
            key_func=_ip_key,
            deduct_when=refused,
            methods=["POST"],
        )
        per_account_address = limiter.shared_limit(
            _setting("LOGIN_ACCOUNT_FAILURE_LIMIT"),
            scope=f"login-{form}-account-address",
            key_func=_account_address_key,
            deduct_when=refused,
            methods=["POST"],
        )
        per_account = limiter.shared_limit(
            _setting("LOGIN_ACCOUNT_CEILING_LIMIT"),
            scope=f"login-{form}-account",
            key_func=_account_key,
            deduct_when=refused,
            methods=["POST"],
        )
        limited = cast(View, per_ip(per_account_address(per_account(view))))
        return limited

    return decorate


def invite_limits(view: View) -> View:
    """«Пригласить» (under the sign-in check: a signed-out post is counted by nothing): every
    request per IP and per member; per recipient, the invitations accepted."""
    per_ip = limiter.limit(_setting("INVITE_RATE_LIMIT"), key_func=_ip_key)
    per_member = limiter.shared_limit(
        _setting("INVITE_MEMBER_RATE_LIMIT"), scope="invite-member", key_func=_client_key
    )
    per_recipient = limiter.shared_limit(
        _setting("INVITE_RECIPIENT_RATE_LIMIT"),
        scope="invite-recipient",
        key_func=_recipient_key,
        deduct_when=accepted,
    )
    limited = cast(View, per_ip(per_member(per_recipient(view))))
    return limited


def _miss_limits(scope: str, setting: str) -> Callable[[View], View]:
    """A public page keyed by a token in its path: a stranger walking tokens gets 404s, and
    after `setting`'s number of them from one IP, 429 for every token until the window
    passes. A read skips Flask-Limiter's own check (`READ_METHODS`), so the misses are
    counted here, on the limiter's storage; a valid token costs nothing. Redis unreachable:
    counted in memory, like every limit."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def counted(*args: Any, **kwargs: Any) -> Any:
            items = parse_many(str(current_app.config[setting]))
            prefix = str(current_app.config.get("RATELIMIT_KEY_PREFIX", ""))
            key = (prefix, scope, _ip_key())

            def refused(strategy: RateLimiter) -> int | None:
                for item in items:
                    if not strategy.test(item, *key):
                        reset = strategy.get_window_stats(item, *key).reset_time
                        return max(1, math.ceil(reset - time.time()))
                return None

            wait = _counting(refused)
            if wait is not None:
                g.retry_after = wait
                abort(429)
            response = make_response(view(*args, **kwargs))
            if response.status_code == 404:
                _counting(lambda strategy: [strategy.hit(item, *key) for item in items])
            return response

        return cast(View, counted)

    return decorate


# /r/<code>: unknown codes per IP (PERSONAL_LINK_MISS_LIMIT).
personal_link_limits = _miss_limits("personal-link-ip", "PERSONAL_LINK_MISS_LIMIT")
# /s/<token>, the SMS's refusal link: unknown tokens per IP (REFUSAL_LINK_MISS_LIMIT), on the
# page and on its button alike.
refusal_link_limits = _miss_limits("refusal-link-ip", "REFUSAL_LINK_MISS_LIMIT")


Counted = TypeVar("Counted")


def _counting(action: Callable[[RateLimiter], Counted]) -> Counted | None:
    """Run `action` on the app's counters; if the shared storage fails, switch to this
    process's memory (logged and counted, as Flask-Limiter's own checks do) and run it there.
    None when no counter answers at all: the page is served uncounted rather than a 500."""
    try:
        return action(limiter.limiter)
    except Exception:  # noqa: BLE001 - Redis went away
        current_app.logger.warning("rate limits: link miss counter failed", exc_info=True)
    state = limiter.state()
    if state.fallback is None or state.degraded:
        return None
    limiter.storage_answers()  # marks the storage dead (logged, counted) when it is
    if not limiter.state().degraded:
        return None
    try:
        return action(limiter.limiter)
    except Exception:  # noqa: BLE001
        return None


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request lets a request through again."""
    if "retry_after" in g:  # set by a limit counted outside Flask-Limiter's check
        return int(g.retry_after)
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
