"""Password hashes: scrypt, always, outside a test run.

The method is a setting (`PASSWORD_HASH_METHOD`) only so that the test suite, which creates
hundreds of accounts, can ask for a cheap one; the environment cannot change it, and the app
factory refuses anything but scrypt unless `TESTING` is on.
"""

from __future__ import annotations

import secrets
from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

PRODUCTION_METHOD = "scrypt"


def _method() -> str:
    method: str = current_app.config["PASSWORD_HASH_METHOD"]
    return method


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method())


def password_matches(password_hash: str | None, password: str) -> bool:
    """Whether `password` is the one hashed; with no hash (an unknown account) the same work
    is done on a throwaway hash, so the answer takes as long either way."""
    if password_hash is None:
        check_password_hash(_throwaway_hash(_method()), password)
        return False
    return check_password_hash(password_hash, password)


@cache
def _throwaway_hash(method: str) -> str:
    return generate_password_hash(secrets.token_hex(16), method=method)
