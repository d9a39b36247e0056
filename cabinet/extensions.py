"""Extension objects, created once and bound to the app in create_app().

The request limits' Flask-Limiter is not among them: each app makes its own
(`cabinet.limits.configure`), so two apps in one process never share counters."""

from __future__ import annotations

from collections.abc import Callable

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()


class StorageFallbacks:
    """How many times an app of this process fell back to counting its limits in memory, and
    who is told each time (the metrics register here: the core cannot import them)."""

    count = 0
    listeners: list[Callable[[], None]] = []
