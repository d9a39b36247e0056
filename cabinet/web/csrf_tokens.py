"""The signed CSRF token of a session, worked out once per process.

Flask-WTF signs the session's raw token on every request that renders a form: a serializer, a
key derivation and an HMAC, ≈ 26 µs, a hundredth of the referral page (docs/performance.md).
The signature carries the moment it was made, and nothing here reads that moment:
WTF_CSRF_TIME_LIMIT is None, a token lives as long as its session's raw token. So a token
signed once for a raw token is as good as a new one: each process keeps the signed token of
the raw tokens it has seen (a bounded store) and puts it where Flask-WTF keeps a request's
token (`g`) before the view runs, so the forms and the templates find it there. With a time
limit set, every token is signed anew, as Flask-WTF does.
"""

from __future__ import annotations

from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import generate_csrf

from cabinet.web.seen import CSRF_KEY

KEPT_AT_MOST = 4096
_KEPT = "kept_csrf_tokens"


def _kept_token_into_g() -> None:
    # A browser's session only: the API's callers carry no cookie, and their answers stay
    # free of the session (no `Vary: Cookie`).
    if current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return
    if current_app.config.get("WTF_CSRF_TIME_LIMIT") is not None:
        return
    raw = session.get(CSRF_KEY)
    if not isinstance(raw, str):
        return
    kept: dict[str, str] = current_app.extensions[_KEPT]
    signed = kept.get(raw)
    if signed is not None:
        setattr(g, CSRF_KEY, signed)
        return
    # Nothing of this request has signed yet (`g` is empty): the token is the raw one's.
    signed = str(generate_csrf())
    if len(kept) >= KEPT_AT_MOST:
        kept.clear()
    kept[raw] = signed


def init_app(app: Flask) -> None:
    """After CSRFProtect.init_app, whose check of a POST's token comes first."""
    app.extensions[_KEPT] = {}
    app.before_request(_kept_token_into_g)
