"""The OpenID Connect settings (docs/security.md, «Вход через OpenID Connect»)."""

from __future__ import annotations

import pytest

from cabinet.config import from_environment
from cabinet.web.shell import CONTENT_SECURITY_POLICY, content_security_policy

PROVIDER = {
    "OIDC_ISSUER": "https://sso.operator.example/realms/pbx/",
    "OIDC_CLIENT_ID": "referral-cabinet",
    "OIDC_CLIENT_SECRET": "s3cret",
}


def test_off_by_default_and_password_sign_in_on() -> None:
    settings = from_environment({})
    assert settings["OIDC_ISSUER"] is None
    assert settings["PASSWORD_SIGN_IN"] is True
    assert settings["OIDC_CLIENT_ID_CLAIM"] == "pbx_client_id"
    assert settings["OIDC_MANAGER_ROLE_CLAIM"] == "pbx_roles"
    assert settings["OIDC_MANAGER_ROLE"] == "pbx-referral-manager"


def test_the_issuer_is_kept_without_its_trailing_slash() -> None:
    assert from_environment(PROVIDER)["OIDC_ISSUER"] == "https://sso.operator.example/realms/pbx"


@pytest.mark.parametrize("missing", sorted(PROVIDER))
def test_all_three_or_none(missing: str) -> None:
    partial = {name: value for name, value in PROVIDER.items() if name != missing}
    with pytest.raises(ValueError, match="нужны все три переменные"):
        from_environment(partial)


def test_scopes_must_ask_for_openid() -> None:
    with pytest.raises(ValueError, match="openid"):
        from_environment({**PROVIDER, "OIDC_SCOPES": "email profile"})


def test_production_with_a_provider_turns_password_sign_in_off() -> None:
    production = {**PROVIDER, "CABINET_ENV": "production"}
    assert from_environment(production)["PASSWORD_SIGN_IN"] is False
    assert from_environment({**production, "PASSWORD_SIGN_IN": "1"})["PASSWORD_SIGN_IN"] is True
    # Without a provider, production keeps the password (nothing else would let anyone in).
    assert from_environment({"CABINET_ENV": "production"})["PASSWORD_SIGN_IN"] is True
    # Development keeps it unless told otherwise.
    assert from_environment(PROVIDER)["PASSWORD_SIGN_IN"] is True
    assert from_environment({**PROVIDER, "PASSWORD_SIGN_IN": "0"})["PASSWORD_SIGN_IN"] is False


def test_production_wants_an_https_issuer() -> None:
    with pytest.raises(ValueError, match="https"):
        from_environment(
            {**PROVIDER, "OIDC_ISSUER": "http://sso.operator.example", "CABINET_ENV": "production"}
        )


def test_the_sign_out_form_may_go_on_to_the_provider_only() -> None:
    assert content_security_policy(None) == CONTENT_SECURITY_POLICY
    policy = content_security_policy("https://sso.operator.example")
    assert "form-action 'self' https://sso.operator.example;" in policy
    assert policy.replace(" https://sso.operator.example", "") == CONTENT_SECURITY_POLICY
