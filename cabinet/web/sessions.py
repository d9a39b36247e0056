"""The signed session cookie with an idle timeout that does not re-sign it on every request.

Flask's `SESSION_REFRESH_EACH_REQUEST` signs and sends the cookie again with every response to
keep the idle timeout (`PERMANENT_SESSION_LIFETIME`) sliding. Here it is sent again only when
the session changed or its signature is older than REFRESH_AFTER: the timeout still slides,
within that much, and most responses carry no `Set-Cookie`.

The cookie's age is measured on the clock the interface is given (the app's; tests move it):
itsdangerous asks its signer for the time through `TimestampSigner.get_timestamp`, its public
hook, so no test patches a library's module.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from cabinet.clock import Clock

REFRESH_AFTER_SECONDS = 60
PEEKED_COOKIES = 4096


class IdleSession(SecureCookieSession):
    # When the cookie the request brought was signed (the interface's clock: seconds).
    signed_at: float | None = None


class ClockSigner(TimestampSigner):
    """Signs with, and measures a signature's age against, the given clock."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock.now().timestamp())


class IdleSessionInterface(SecureCookieSessionInterface):
    session_class = IdleSession

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        # Flask builds the serializer anew for every request; it depends only on the keys.
        self._serializer: tuple[object, URLSafeTimedSerializer | None] | None = None
        self._peeked: OrderedDict[str, IdleSession] = OrderedDict()
        self._lock = threading.Lock()

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        if self._serializer is not None and self._serializer[0] == keys:
            return self._serializer[1]
        flasks = super().get_signing_serializer(app)
        serializer = None
        if flasks is not None:
            # Flask's serializer (keys, fallbacks, salt, digest), its signer reading our clock.
            serializer = URLSafeTimedSerializer(
                flasks.secret_keys,
                salt=flasks.salt,
                serializer=flasks.serializer,
                signer=ClockSigner,
                signer_kwargs={**flasks.signer_kwargs, "clock": self.clock},
            )
        self._serializer = (keys, serializer)
        self._peeked.clear()
        return serializer

    def open_session(self, app: Flask, request: Request) -> IdleSession | None:
        if self.get_signing_serializer(app) is None:
            return None
        # A cookie seen before is not verified again (`peek`); the request gets a copy of its
        # own to change. A session holding a list or a dict (flashed messages) is read afresh:
        # a shallow copy would share it with the kept one.
        cookie = request.cookies.get(self.get_cookie_name(app))
        peeked = self.peek(app, cookie)
        if any(isinstance(value, list | dict) for value in peeked.values()):
            return self.read(app, cookie)
        session = IdleSession(peeked)
        session.signed_at = peeked.signed_at
        return session

    def read(self, app: Flask, value: str | None) -> IdleSession:
        """The session a cookie's value holds: empty when there is none, when its signature is
        wrong, or when it is older than the idle timeout (also for the revisit gate,
        cabinet/revisits, which reads the cookie before Flask does)."""
        signer = self.get_signing_serializer(app)
        if signer is None or not value:
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

    def peek(self, app: Flask, value: str | None) -> IdleSession:
        """`read` for a reader that never changes the session (the revisit gate): a cookie
        whose signature held once is not checked again, only its age, as `read` checks it."""
        if not value or self.get_signing_serializer(app) is None:
            return IdleSession()
        with self._lock:
            session = self._peeked.get(value)
            if session is not None:
                self._peeked.move_to_end(value)
        if session is None:
            session = self.read(app, value)
            if not session:
                return session
            with self._lock:
                self._peeked[value] = session
                while len(self._peeked) > PEEKED_COOKIES:
                    self._peeked.popitem(last=False)
            return session
        # itsdangerous's own test of a signature's age (TimestampSigner.unsign), in whole seconds
        age = int(self.clock.now().timestamp()) - int(session.signed_at or 0)
        if age < 0 or age > int(app.permanent_session_lifetime.total_seconds()):
            return IdleSession()
        return session

    def should_set_cookie(self, app: Flask, session: SessionMixin) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        now = self.clock.now().timestamp()
        return signed_at is None or now - signed_at >= REFRESH_AFTER_SECONDS
