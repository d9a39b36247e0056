"""Extension objects, created once and bound to the app in create_app()."""

from __future__ import annotations

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf import CSRFProtect

migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
# Per-IP request limits (memory by default, Redis through RATELIMIT_STORAGE_URI).
limiter = Limiter(key_func=get_remote_address)
