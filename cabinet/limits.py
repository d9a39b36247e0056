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

Each app has a Flask-Limiter `Limiter` of its own, made in `configure` (tests run many apps in
one process: none shares another's counters, storage or fallback by accident). A view declares
its limits once (`Limit`); `configure` turns them into Flask-Limiter's decorators on the app's
limiter, and the view calls the current app's. Only Flask-Limiter's public API is used
(docs/security.md, «Библиотеки»).

Redis unreachable (a closed port, a server that hangs): each process counts in its own memory
(Flask-Limiter's in-memory fallback, `RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`), says so loudly in
the log, counts the switch (`storage_fallbacks()`), and `/readyz` names the degraded dependency;
Redis is asked again now and then, and counting is shared again once it answers.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, make_response, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItemPerSecond, parse_many
from limits.storage import MemoryStorage
from limits.strategies import STRATEGIES, RateLimiter

from cabinet.extensions import StorageFallbacks
from cabinet.texts import plural

View = TypeVar("View", bound=Callable[..., Any])

REDIS_SCHEMES = ("redis://", "rediss://", "redis+sentinel://", "redis+cluster://", "redis+unix://")


# Counted requests are changes (POST); GET, HEAD and OPTIONS skip Flask-Limiter's per-request
# resolution of the limits that could apply (a tenth of a page's own work).
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# The counters kept outside Flask-Limiter's check (a repeated code, the personal link's misses)
# ask Redis again this long after it failed them, counting in memory meanwhile.
SHARED_RETRY_SECONDS = 30

log = logging.getLogger("cabinet.limits")


def _only_changes_are_limited() -> bool:
    return request.method in READ_METHODS


@dataclass(frozen=True)
class Limit:
    """One limit a view declares: its numbers' setting, its name (`scope`: shared by the views
    that name it; None: the view's own), whom it counts, and which answers count."""

    setting: str
    scope: str | None
    key: Callable[[], str]
    deduct_when: Callable[[Response], bool] | None = None
    methods: tuple[str, ...] | None = None

    def on(self, limiter: Limiter) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Flask-Limiter's decorator for this limit, on one app's limiter."""
        methods = list(self.methods) if self.methods else None
        if self.scope is None:
            return limiter.limit(
                _setting(self.setting),
                key_func=self.key,
                deduct_when=self.deduct_when,
                methods=methods,
            )
        return limiter.shared_limit(
            _setting(self.setting),
            scope=self.scope,
            key_func=self.key,
            deduct_when=self.deduct_when,
            methods=methods,
        )


@dataclass(frozen=True)
class Declared:
    view: Callable[..., Any]
    limits: tuple[Limit, ...]  # the outermost first


# Every limited view (by module and name) and its limits; each app's limiter checks them.
DECLARED: dict[str, Declared] = {}


def _limited(view: View, *declared: Limit) -> View:
    """`view` under `declared`, on whichever app serves the request."""
    name = f"{view.__module__}.{view.__qualname__}"
    DECLARED[name] = Declared(view, declared)

    @functools.wraps(view)
    def on_the_current_app(*args: Any, **kwargs: Any) -> Any:
        return app_limits().views[name](*args, **kwargs)

    return cast(View, on_the_current_app)


@dataclass
class AppLimits:
    """One app's limiter, its views under their limits, and this process's memory for the
    counters kept outside the limiter's check while Redis fails them."""

    limiter: Limiter
    views: dict[str, Callable[..., Any]]
    shared: RateLimiter  # the strategy over RATELIMIT_STORAGE_URI
    memory: RateLimiter | None  # None: RATELIMIT_IN_MEMORY_FALLBACK_ENABLED is off
    counters_failed: bool = False
    retry_at: float = 0.0
    degraded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def counting_in_memory(self) -> bool:
        """Flask-Limiter counts in memory (its `limiter` is then the fallback), or our
        counters do."""
        return self.limiter.limiter is not self.shared or self.counters_failed

    def note(self) -> None:
        """Log, count and tell the listeners when counting moves to memory and back."""
        in_memory = self.counting_in_memory()
        if in_memory == self.degraded:  # every request: no lock unless it changed
            return
        with self.lock:
            if in_memory == self.degraded:
                return
            self.degraded = in_memory
        if in_memory:
            StorageFallbacks.count += 1
            for listener in StorageFallbacks.listeners:
                listener()
            log.error(
                "RATE LIMITS DEGRADED: Redis (RATELIMIT_STORAGE_URI) does not answer; each "
                "process now counts in its own memory until it answers again"
            )
        else:
            log.warning("rate limits: Redis answers again; counters are shared again")


def app_limits() -> AppLimits:
    limits: AppLimits = current_app.extensions["cabinet_limits"]
    return limits


def configure(app: Flask) -> None:
    """Flask-Limiter's own settings, then the app's limiter and its limited views."""
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
    limiter = Limiter(get_remote_address)
    # Reads cost no look at the limits (Flask-Limiter's check before each request included).
    limiter.request_filter(_only_changes_are_limited)
    limiter.init_app(app)
    views = {}
    for name, declared in DECLARED.items():
        view = declared.view
        for limit in reversed(declared.limits):
            view = limit.on(limiter)(view)
        views[name] = view
    strategy = STRATEGIES[str(app.config.get("RATELIMIT_STRATEGY", "fixed-window"))]
    fallback = app.config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"]
    app.extensions["cabinet_limits"] = AppLimits(
        limiter,
        views,
        shared=limiter.limiter,
        memory=strategy(MemoryStorage()) if fallback else None,
    )
    # After Flask-Limiter's checks and deductions (they switch to memory on a failure).
    app.teardown_request(_note_the_counting)


def _note_the_counting(_error: BaseException | None) -> None:
    app_limits().note()


def storage_fallbacks() -> int:
    """How many times this process fell back to counting in memory (for a metric)."""
    return StorageFallbacks.count


def degraded() -> bool:
    """The shared storage does not answer, so the app's limits count in this process's memory.
    Asks the storage now (bounded by RATELIMIT_REDIS_TIMEOUT_SECONDS)."""
    if not uses_shared_storage(str(current_app.config["RATELIMIT_STORAGE_URI"])):
        return False
    return not app_limits().limiter.storage.check()


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
    return _limited(
        _notes_repeats(view),
        Limit("APPLY_CODE_IP_FAILURE_LIMIT", "apply-code-ip", _ip_key, refused_guess),
        Limit("APPLY_CODE_FAILURE_LIMIT", "apply-code-client", _client_key, refused_guess),
    )


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
            # No counter answers at all (None): count it as a guess.
            g.repeated_code = _counting(lambda strategy: strategy.hit(_REPEAT, *key)) is False
        return view(*args, **kwargs)

    return cast(View, noting)


def login_limits(form: str) -> Callable[[View], View]:
    """«Войти» at one form (`client` or `manager`; each counts its own): refused sign-ins per
    account and address, per account from every address (a slower ceiling), and per IP."""

    def decorate(view: View) -> View:
        post = ("POST",)
        return _limited(
            view,
            Limit("LOGIN_IP_FAILURE_LIMIT", "login-ip", _ip_key, refused, post),
            Limit(
                "LOGIN_ACCOUNT_FAILURE_LIMIT",
                f"login-{form}-account-address",
                _account_address_key,
                refused,
                post,
            ),
            Limit(
                "LOGIN_ACCOUNT_CEILING_LIMIT", f"login-{form}-account", _account_key, refused, post
            ),
        )

    return decorate


def invite_limits(view: View) -> View:
    """«Пригласить» (under the sign-in check: a signed-out post is counted by nothing): every
    request per IP and per member; per recipient, the invitations accepted."""
    return _limited(
        view,
        Limit("INVITE_RATE_LIMIT", None, _ip_key),
        Limit("INVITE_MEMBER_RATE_LIMIT", "invite-member", _client_key),
        Limit("INVITE_RECIPIENT_RATE_LIMIT", "invite-recipient", _recipient_key, accepted),
    )


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
    """Run `action` on the app's counters (Flask-Limiter's strategy: in memory while its own
    checks find Redis gone); if Redis fails it, count in this process's memory (logged and
    counted, as Flask-Limiter's checks do) and ask Redis again SHARED_RETRY_SECONDS later.
    None when no counter answers at all: the page is served uncounted rather than a 500."""
    state = app_limits()
    if not state.counters_failed or time.monotonic() >= state.retry_at:
        try:
            counted = action(state.limiter.limiter)
        except Exception:  # noqa: BLE001 - Redis went away
            current_app.logger.warning("rate limits: a counter failed", exc_info=True)
            state.counters_failed = True
            state.retry_at = time.monotonic() + SHARED_RETRY_SECONDS
            state.note()
        else:
            state.counters_failed = False
            return counted
    if state.memory is None:
        return None
    try:
        return action(state.memory)
    except Exception:  # noqa: BLE001
        return None


def retry_after_seconds() -> int:
    """Seconds until the limit that refused this request lets a request through again."""
    if "retry_after" in g:  # set by a limit counted outside Flask-Limiter's check
        return int(g.retry_after)
    current = app_limits().limiter.current_limit
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
