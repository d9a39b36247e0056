from __future__ import annotations

import pytest

from tests.api.conftest import api, token
from tests.web.conftest import auth

__all__ = ["api", "auth", "token"]


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt costs a sign-in attempt ~0.3 s on purpose; thousands of hostile sign-ins would
    take minutes. Here the password check is a plain comparison with the test password (the
    real check has its own tests in tests/web/test_auth.py); everything around it is real."""
    from cabinet import passwords
    from tests.web.conftest import PASSWORD

    def check(_stored_hash: str, password: str) -> bool:
        # An unknown account is refused by password_matches itself, whatever this answers.
        return password == PASSWORD

    monkeypatch.setattr(passwords, "check_password_hash", check)
