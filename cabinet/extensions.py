"""Extension objects, created once and bound to the app in create_app()."""

from __future__ import annotations

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


class AppLimiter(Limiter):
    """Flask-Limiter keeps one storage for the extension object, so the last app bound to it
    would count for every app in the process. Here each app keeps its own storage, strategy
    and key prefix (two apps in one process, as in the tests, never share counters by
    accident; two processes share them through Redis on purpose)."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        app.extensions["rate_limits"] = (self._storage, self._limiter)

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
        storage, _ = current_app.extensions["rate_limits"]
        assert isinstance(storage, Storage)  # noqa: S101
        return storage

    @property
    def limiter(self) -> RateLimiter:
        _, strategy = current_app.extensions["rate_limits"]
        assert isinstance(strategy, RateLimiter)  # noqa: S101
        return strategy


# Request limits (cabinet/limits.py); the storage comes from RATELIMIT_STORAGE_URI.
limiter = AppLimiter(key_func=get_remote_address)
