"""The operator's identity provider (OpenID Connect), through Authlib's Flask client.

Authorization code flow with PKCE (S256); `state` and `nonce` kept in the signed session cookie
and checked on the way back; the provider's endpoints and keys from its discovery document
(`<OIDC_ISSUER>/.well-known/openid-configuration`); the ID token's signature, issuer, audience,
expiry and nonce verified before any claim is read. Sign-out ends the provider's session too
(RP-initiated logout). The views that use this are in cabinet/web/auth.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.common.urls import add_params_to_uri
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from joserfc.errors import JoseError
from werkzeug.wrappers import Response as BaseResponse

NAME = "idp"  # Authlib's name for the provider (its session keys: `_state_idp_<state>`)
CALLBACK_PATH = "/login/oidc/callback"


class SignInFailed(Exception):
    """The provider's answer did not pass the checks (or it did not answer): no session."""

    def __init__(self, reason: str, *, unavailable: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.unavailable = unavailable


@dataclass(frozen=True)
class Identity:
    """What a verified ID token says, and the token itself (the hint at sign-out)."""

    claims: dict[str, Any]
    id_token: str


def init_app(app: Flask) -> None:
    """Register the provider when OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET are set."""
    if not app.config["OIDC_ISSUER"]:
        return
    oauth = OAuth(app)
    oauth.register(
        NAME,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=app.config["OIDC_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={
            "scope": app.config["OIDC_SCOPES"],
            "code_challenge_method": "S256",
            "default_timeout": app.config["OIDC_TIMEOUT_SECONDS"],
        },
    )


def enabled() -> bool:
    return bool(current_app.config["OIDC_ISSUER"])


def provider_origin(app: Flask) -> str | None:
    """The provider's origin (the sign-out form is sent on to it: CSP `form-action`)."""
    issuer = app.config["OIDC_ISSUER"]
    if not issuer:
        return None
    parts = urlsplit(issuer)
    return f"{parts.scheme}://{parts.netloc}"


def _client() -> Any:
    return current_app.extensions["authlib.integrations.flask_client"].create_client(NAME)


def _url(path: str) -> str:
    """An address of the cabinet as the provider knows it (CABINET_BASE_URL, never the Host
    header of the request)."""
    return str(current_app.config["CABINET_BASE_URL"]).rstrip("/") + path


def _metadata() -> dict[str, Any]:
    try:
        metadata: dict[str, Any] = _client().load_server_metadata()
    except (requests.RequestException, ValueError) as exc:
        raise SignInFailed("discovery failed", unavailable=True) from exc
    if str(metadata.get("issuer", "")).rstrip("/") != current_app.config["OIDC_ISSUER"]:
        raise SignInFailed("the discovery document names another issuer")
    return metadata


def start() -> BaseResponse:
    """The redirect to the provider's sign-in page; state, nonce and the PKCE verifier are
    kept in the session for the way back."""
    _metadata()
    try:
        response: BaseResponse = _client().authorize_redirect(_url(CALLBACK_PATH))
    except (requests.RequestException, AuthlibBaseError) as exc:
        raise SignInFailed("authorization request failed", unavailable=True) from exc
    return response


def finish() -> Identity:
    """The way back: state checked, the code exchanged (with the PKCE verifier), the ID token
    verified. Anything wrong raises SignInFailed."""
    metadata = _metadata()
    client = _client()
    options = {
        "iss": {"essential": True, "value": metadata["issuer"]},
        "aud": {"essential": True, "value": current_app.config["OIDC_CLIENT_ID"]},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "sub": {"essential": True},
    }
    try:
        token = client.authorize_access_token(
            claims_options=options, leeway=current_app.config["OIDC_CLOCK_SKEW_SECONDS"]
        )
    except requests.RequestException as exc:
        raise SignInFailed("the token endpoint did not answer", unavailable=True) from exc
    except (AuthlibBaseError, JoseError, ValueError, KeyError) as exc:
        raise SignInFailed(_reason(exc)) from exc
    claims = token.get("userinfo")
    id_token = token.get("id_token")
    if claims is None or not isinstance(id_token, str):
        # No ID token (or no nonce kept for it): nothing was verified, nothing is trusted.
        raise SignInFailed("no verified ID token")
    return Identity(dict(claims), id_token)


def _reason(exc: Exception) -> str:
    """For the log: the check that failed, never the token nor text the request brought."""
    if isinstance(exc, JoseError):
        return f"{type(exc).__name__}: {exc}"  # the library's own words: which claim
    code = re.sub(r"[^\w.-]", "", str(getattr(exc, "error", "") or ""))[:40]
    return f"{type(exc).__name__} {code}".strip()


def logout_url(id_token: str, after: str) -> str | None:
    """The provider's end-session address (RP-initiated logout) with the ID token as the hint
    and `after` (a path of the cabinet) to come back to; None when the provider has none."""
    try:
        metadata = _metadata()
    except SignInFailed:
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    # No `state`: the login page the provider sends the browser back to needs none.
    return str(
        add_params_to_uri(
            metadata["end_session_endpoint"],
            {
                "id_token_hint": id_token,
                "post_logout_redirect_uri": _url(after),
                "client_id": current_app.config["OIDC_CLIENT_ID"],
            },
        )
    )
