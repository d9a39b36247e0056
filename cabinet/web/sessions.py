"""The signed session cookie with an idle timeout that does not re-sign it on every request.

Flask's `SESSION_REFRESH_EACH_REQUEST` signs and sends the cookie again with every response to
keep the idle timeout (`PERMANENT_SESSION_LIFETIME`) sliding. Here it is sent again only when
the session changed or its signature is older than REFRESH_AFTER: the timeout still slides,
within that much, and most responses carry no `Set-Cookie`.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature

REFRESH_AFTER_SECONDS = 60


class IdleSession(SecureCookieSession):
    # When the cookie the request brought was signed (the signer's own clock: seconds).
    signed_at: float | None = None


class IdleSessionInterface(SecureCookieSessionInterface):
    session_class = IdleSession

    def open_session(self, app: Flask, request: Request) -> IdleSession | None:
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return IdleSession()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data: Any
            data, signed = signer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return IdleSession()
        session = IdleSession(data)
        session.signed_at = signed.timestamp()
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        # itsdangerous stamps the cookie with the real time: the age is measured against it.
        return signed_at is None or time.time() - signed_at >= REFRESH_AFTER_SECONDS
