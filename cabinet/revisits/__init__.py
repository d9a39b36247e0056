"""A repeated read answered before Flask: the revisit gate.

The member's page, its tabs, the share dialog and the discount API are named by what they show
(cabinet/conditional.py): a request whose `If-None-Match` names the answer of now gets `304`.
Inside Flask that costs the whole way of a request — the session, Flask-Login, the ORM session,
every hook — for an answer of no body. The gate, in front of Flask, names the request by the
same functions from the same facts and answers the 304 itself:

* the route, matched by Flask's own URL map (only `seen.MEMBER_VIEWS` and the discount API);
* for a member's page: the session cookie read by the app's session interface (signature, idle
  timeout), Flask-Login's session check, and one statement for the client's status, session
  version and change stamps — a revoked, closed or timed-out session never gets a 304;
* for the API: the bearer token with the endpoint's scope and the client's stamps, in one
  statement;
* the name: `seen.member_parts` and `conditional.key_of`, as the view computes them.

The 304 carries what Flask's would: the ETag, the `Vary` and `Cache-Control` of
cabinet/conditional.py, the security headers, the request id. An answer Flask named and kept
is kept whole here too (its status, headers and compressed body, as sent), and sent again to a
request of the same name without `If-None-Match` — another browser of the same session.
Either is measured and logged as Flask's answers are.

Anything else — a first visit, a body, a manager's session, a flash message waiting, a cookie
due to be signed again, a name that matches nothing kept, any error at all — goes to Flask
unchanged, which answers as it always did.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie
from werkzeug.routing import RequestRedirect

from cabinet import conditional
from cabinet.api import inputs, tokens
from cabinet.api.problems import ApiProblem
from cabinet.auth.services import parse_session_id
from cabinet.clients.models import ACTIVE, session_check
from cabinet.extensions import login_manager
from cabinet.htmx import asked_in
from cabinet.revisits.reads import Reads
from cabinet.web import links, seen
from cabinet.web.observability import REQUEST_ID_HEADER, observed
from cabinet.web.sessions import IdleSessionInterface
from cabinet.web.shell import security_headers

log = logging.getLogger("cabinet.revisits")

DISCOUNT = "api.discount"
READS = frozenset({"GET", "HEAD"})
KEPT_VISITS = 4096
NOT_MODIFIED = "304 NOT MODIFIED"  # werkzeug's status line
# What names a visit before routing: the URL, the cookies, the token, and the headers an answer
# varies on (htmx's and the compression's).
VISIT = (
    "PATH_INFO",
    "QUERY_STRING",
    "HTTP_COOKIE",
    "HTTP_AUTHORIZATION",
    "HTTP_HX_REQUEST",
    "HTTP_HX_HISTORY_RESTORE_REQUEST",
    "HTTP_ACCEPT_ENCODING",
)
# What names an answer besides its URL and the minute, and whom the log line names.
Named = tuple[tuple[object, ...], dict[str, object]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RevisitGate:
    """WSGI middleware in front of the app's own `wsgi_app`."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp, reads: Reads) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.reads = reads
        self.answered = 0  # 304s this process gave without Flask (tests read it)
        self.replayed = 0  # kept answers it sent again
        # Requests (their URL, cookies, token and the headers an answer varies on) whose answer
        # this process kept: a first visit costs the gate nothing.
        self._kept: OrderedDict[tuple[object, ...], None] = OrderedDict()
        self._lock = threading.Lock()
        self._urls = app.url_map.bind("")  # the cabinet matches no host or subdomain
        self._identifiers: dict[tuple[object, ...], str] = {}  # (address, browser) → Flask-Login's

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if (
            environ.get("REQUEST_METHOD") not in READS
            or environ.get("CONTENT_LENGTH")
            or environ.get("HTTP_TRANSFER_ENCODING")
        ):
            return self.wsgi_app(environ, start_response)
        visit = _visit(environ)
        if environ.get("HTTP_IF_NONE_MATCH") or visit in self._kept:
            started = time.perf_counter()
            try:
                response = self._answer(environ, started)
            except Exception:  # Flask answers it, errors and all  # noqa: BLE001
                log.debug("revisit gate passed a request on", exc_info=True)
                response = None
            if response is not None:
                return response(environ, start_response)
        if environ["REQUEST_METHOD"] != "GET":
            return self.wsgi_app(environ, start_response)
        return self._keeping(environ, start_response, visit)

    def _keeping(
        self, environ: dict[str, Any], start_response: Callable[..., Any], visit: tuple[object, ...]
    ) -> Any:
        """Flask's answer, kept whole when Flask named and kept it (cabinet/conditional.py)."""
        sent: list[Any] = []

        def remember(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            sent[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        body = self.wsgi_app(environ, remember)
        key = environ.get(conditional.NAMED)
        if key is None or not sent or not sent[0].startswith("200 "):
            return body
        status, headers = sent
        if any(name.lower() == "set-cookie" for name, _ in headers):
            return body  # a cookie is one response's, never sent again
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        kept_headers = [(n, v) for n, v in headers if n != REQUEST_ID_HEADER]
        packed = _packed(status, kept_headers, data)
        if not conditional.store(self.app).set(_replay_key(key, environ), packed):
            return [data]
        with self._lock:
            self._kept[visit] = None
            self._kept.move_to_end(visit)
            while len(self._kept) > KEPT_VISITS:
                self._kept.popitem(last=False)
        return [data]

    def _answer(self, environ: dict[str, Any], started: float) -> Any:
        app = self.app
        request = app.request_class(environ)
        try:
            rule, args = self._urls.match(request.path, request.method, return_rule=True)
        except (HTTPException, RequestRedirect):
            return None
        endpoint = rule.endpoint
        if endpoint in seen.MEMBER_VIEWS:
            named = self._member(environ)
        elif endpoint == DISCOUNT:
            named = self._discount(environ, args)
        else:
            return None
        if named is None:
            return None
        parts, who = named
        context = app.extensions["context"]
        minute = context.clock.now().replace(second=0, microsecond=0)
        key = conditional.key_of(
            endpoint, parts, minute, request.script_root, request.full_path, app.config
        )
        tag = conditional.tag_of(key)
        sent = conditional.matched_tag(environ.get("HTTP_IF_NONE_MATCH"), tag)
        if sent is not None:
            # What Flask's 304 carries (cabinet/conditional.py), without building its Response.
            vary = ("Cookie",) if who else ()  # Flask's session was read: it varies on it
            status, headers = NOT_MODIFIED, conditional.not_modified_headers(sent, *vary)
            headers.extend(security_headers(app))
            body = b""
            self.answered += 1
        else:
            kept = None
            if request.method == "GET":
                kept = conditional.store(app).get(_replay_key(key, environ))
            if kept is None:  # changed since, or dropped: Flask renders, and it is kept again
                with self._lock:
                    self._kept.pop(_visit(environ), None)
                return None
            status, headers, body = _unpacked(kept)
            self.replayed += 1
        request_id = observed(
            environ,
            int(status[:3]),
            method=request.method,
            endpoint=endpoint,
            route=rule.rule,
            seconds=time.perf_counter() - started,
            who=who,
        )
        if request_id is not None:
            headers.append((REQUEST_ID_HEADER, request_id))
        return _sent(status, headers, body)

    def _member(
        self, environ: dict[str, Any]
    ) -> tuple[tuple[object, ...], dict[str, object]] | None:
        app = self.app
        interface = app.session_interface
        if not isinstance(interface, IdleSessionInterface):
            return None
        cookies = parse_cookie(environ.get("HTTP_COOKIE"))  # werkzeug's, as Flask's request
        session = interface.peek(app, cookies.get(app.config["SESSION_COOKIE_NAME"]))
        if (
            not session
            or interface.should_set_cookie(app, session)  # Flask signs it again
            or not seen.names_pages(session)
            or "_remember" in session
            or app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST")
            or not self._login_keeps(session, environ)
        ):
            return None
        user_id = session.get("_user_id")
        if not isinstance(user_id, str):
            return None
        parsed = parse_session_id(user_id)
        if parsed is None or parsed[0]:  # a manager's session: Flask's way
            return None
        _, client_id, version = parsed
        row = self.reads.one(session_check(), {"client_id": client_id})
        if row is None:
            return None
        status, stored_version, stamp, program_stamp = row
        if status != ACTIVE or stored_version != version:
            return None
        parts = seen.member_parts(
            user_id=user_id,
            client_id=client_id,
            stamps=(stamp, program_stamp),
            manager_id=None,
            may_act=True,
            csrf=session[seen.CSRF_KEY],
            pending=cookies.get(links.PENDING_COOKIE),
            htmx=asked_in(environ),
            demo_shifted=seen.demo_shifted(app.config, app.extensions["context"].clock),
        )
        return parts, {"client_id": client_id}

    def _login_keeps(self, session: Any, environ: dict[str, Any]) -> bool:
        """Flask-Login's session protection leaves the session as it is
        (`_session_protection_failed`): the same address and browser, or in "basic" mode a
        session already marked not fresh."""
        mode = self.app.config.get("SESSION_PROTECTION", login_manager.session_protection)
        if mode not in ("basic", "strong"):
            return True
        seen_from = (
            environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR")),
            environ.get("HTTP_USER_AGENT"),
        )
        identifier = self._identifiers.get(seen_from)
        if identifier is None:
            identifier = login_identifier(environ)
            with self._lock:
                if len(self._identifiers) >= KEPT_VISITS:
                    self._identifiers.clear()
                self._identifiers[seen_from] = identifier
        if session.get("_id") == identifier:
            return True
        return mode == "basic" and session.get("_fresh") is False

    def _discount(self, environ: dict[str, Any], args: Mapping[str, Any]) -> Named | None:
        presented = tokens.bearer(environ.get("HTTP_AUTHORIZATION", ""))
        token_hash = None if presented is None else tokens.presented_hash(presented)
        if token_hash is None:
            return None
        try:
            client_id = inputs.client_id(str(args["client_id"]))
        except ApiProblem:
            return None
        found = self.reads.one(
            tokens.scopes_and_stamps(), {"token_hash": token_hash, "client_id": client_id}
        )
        if found is None or tokens.REQUIRED_SCOPE[DISCOUNT] not in tokens.scopes_of(found[0]):
            return None
        return (found[1], found[2]), {}


def _visit(environ: dict[str, Any]) -> tuple[object, ...]:
    return tuple(environ.get(name) for name in VISIT)


def _replay_key(key: str, environ: dict[str, Any]) -> str:
    """The whole answer differs by its compression (Flask-Compress chooses by this header)."""
    return f"{key}:sent:{environ.get('HTTP_ACCEPT_ENCODING', '')}"


def _packed(status: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    return json.dumps([status, headers]).encode() + b"\n" + body


def _unpacked(kept: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    head, _, body = kept.partition(b"\n")
    status, headers = json.loads(head)
    return status, [(name, value) for name, value in headers], body


def _sent(status: str, headers: list[tuple[str, str]], body: bytes) -> WSGIApp:
    def answer(_environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(status, headers)
        return [body] if body else []

    return answer


def login_identifier(environ: Mapping[str, Any]) -> str:
    """Flask-Login's session identifier (`_create_identifier`: the address and the browser)
    of a request not yet in Flask's hands; a session made elsewhere does not match it."""
    address = environ.get("HTTP_X_FORWARDED_FOR", environ.get("REMOTE_ADDR"))
    if address is not None:
        address = address.encode("utf-8").split(b",")[0].strip()
    user_agent = environ.get("HTTP_USER_AGENT")
    if user_agent is not None:
        user_agent = user_agent.encode("utf-8")
    return hashlib.sha512(f"{address}|{user_agent}".encode()).hexdigest()


def install(app: Flask) -> None:
    """The gate in front of the app (before WhiteNoise wraps it), unless switched off."""
    if not app.config["REVISIT_GATE"]:
        return
    reads = Reads(app)
    if not reads.usable:
        return
    gate = RevisitGate(app, app.wsgi_app, reads)
    app.extensions["revisits"] = gate
    app.wsgi_app = gate  # type: ignore[method-assign]
