"""Extension objects, created once and bound to the app in create_app()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_app_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from limits.storage import Storage
from limits.strategies import RateLimiter

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


log = logging.getLogger("cabinet.limits")


@dataclass
class RateLimits:
    """One app's counters: where they live, the strategy over them, and the strategy over this
    process's memory that takes over while the shared storage (Redis) does not answer."""

    storage: Storage
    strategy: RateLimiter
    fallback: RateLimiter | None
    degraded: bool = False


class StorageFallbacks:
    """How many times an app of this process fell back to counting in memory, and who is told
    each time (the metrics register here: the core cannot import them)."""

    count = 0
    listeners: list[Callable[[], None]] = []


class AppLimiter(Limiter):
    """Flask-Limiter keeps one storage for the extension object, so the last app bound to it
    would count for every app in the process. Here each app keeps its own storage, strategy,
    in-memory fallback and key prefix (two apps in one process, as in the tests, never share
    counters by accident; two processes share them through Redis on purpose).

    Flask-Limiter's in-memory fallback (`RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`) keeps its state
    in `_storage`, `_limiter`, `_fallback_limiter` and `_storage_dead`; these are the app's own
    here (RateLimits), and the switch to memory and back is logged loudly and counted."""

    _binding = False  # inside init_app: the attributes being set are the new app's

    def init_app(self, app: Flask) -> None:
        # Set by init_app when the app's config enables the fallback.
        self.__dict__["bound_fallback_limiter"] = None
        self.__dict__["bound_fallback_enabled"] = False
        self._binding = True
        try:
            super().init_app(app)
        finally:
            self._binding = False
        bound = self.__dict__
        app.extensions["rate_limits"] = RateLimits(
            bound["bound_storage"], bound["bound_limiter"], bound.get("bound_fallback_limiter")
        )

    def _state(self) -> RateLimits | None:
        if self._binding or not has_app_context():
            return None
        state = current_app.extensions.get("rate_limits")
        return state if isinstance(state, RateLimits) else None

    # Flask-Limiter's own attributes, per app (read by its request checks and its fallback).
    @property
    def _storage(self) -> Storage | None:
        state = self._state()
        return state.storage if state else self.__dict__.get("bound_storage")

    @_storage.setter
    def _storage(self, value: Storage | None) -> None:
        self.__dict__["bound_storage"] = value

    @property
    def _limiter(self) -> RateLimiter | None:
        state = self._state()
        return state.strategy if state else self.__dict__.get("bound_limiter")

    @_limiter.setter
    def _limiter(self, value: RateLimiter | None) -> None:
        self.__dict__["bound_limiter"] = value

    @property
    def _fallback_limiter(self) -> RateLimiter | None:
        state = self._state()
        return state.fallback if state else self.__dict__.get("bound_fallback_limiter")

    @_fallback_limiter.setter
    def _fallback_limiter(self, value: RateLimiter | None) -> None:
        self.__dict__["bound_fallback_limiter"] = value

    @property
    def _in_memory_fallback_enabled(self) -> bool:
        state = self._state()
        if state:
            return state.fallback is not None
        return bool(self.__dict__.get("bound_fallback_enabled"))

    @_in_memory_fallback_enabled.setter
    def _in_memory_fallback_enabled(self, value: bool) -> None:
        self.__dict__["bound_fallback_enabled"] = value

    @property
    def _storage_dead(self) -> bool:
        state = self._state()
        return state.degraded if state else False

    @_storage_dead.setter
    def _storage_dead(self, dead: bool) -> None:
        state = self._state()
        if state is None or state.degraded == dead:
            return
        state.degraded = dead
        if dead:
            StorageFallbacks.count += 1
            for listener in StorageFallbacks.listeners:
                listener()
            log.error(
                "RATE LIMITS DEGRADED: Redis (RATELIMIT_STORAGE_URI) does not answer; each "
                "process now counts in its own memory until it answers again"
            )
        else:
            log.warning("rate limits: Redis answers again; counters are shared again")

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        # Every limit is declared on a view (cabinet/limits.py) and checked by its decorator;
        # with no application, default or blueprint limit, the check Flask-Limiter runs before
        # every request finds nothing to check (tests/security/test_limits.py keeps it so).
        if not in_middleware:
            super()._check_request_limit(callable_name, in_middleware)

    @property
    def _key_prefix(self) -> str:
        if has_app_context():
            return str(current_app.config.get("RATELIMIT_KEY_PREFIX", ""))
        return ""

    @_key_prefix.setter
    def _key_prefix(self, value: Any) -> None:
        """Set by Flask-Limiter's constructor and init_app; the app's config decides."""

    @property
    def storage(self) -> Storage:
        return self.state().storage

    @property
    def limiter(self) -> RateLimiter:
        state = self.state()
        if state.degraded and state.fallback is not None:
            return state.fallback
        return state.strategy

    def state(self) -> RateLimits:
        state = current_app.extensions["rate_limits"]
        assert isinstance(state, RateLimits)  # noqa: S101
        return state

    def storage_answers(self) -> bool:
        """Ask the app's storage now (bounded by its socket timeouts); a change is logged."""
        state = self.state()
        answers = bool(state.storage.check())
        if state.fallback is not None:
            self._storage_dead = not answers
        return answers


# Request limits (cabinet/limits.py); the storage comes from RATELIMIT_STORAGE_URI.
limiter = AppLimiter(key_func=get_remote_address)
