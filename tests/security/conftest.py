from __future__ import annotations

from tests.api.conftest import api, token
from tests.web.conftest import auth

__all__ = ["api", "auth", "token"]
