"""Every request measured and logged once; `/metrics` for Prometheus (docs/operations.md).

- A request gets its id from `X-Request-Id` (when short and safe) or a new one; the id is in
  every log line of the request and in the response's `X-Request-Id`, and the gateways get it.
- When answered: the latency histogram of its endpoint (the Flask endpoint's name, never the
  raw path) and status class.
- One log line per request, whoever answered it (Flask, the revisit gate, the static files):
  written by `RequestLine`, the outermost layer of the app, with what an access log says
  (path, status, bytes, duration, remote address, X-Forwarded-For, referer, browser) and what
  the app knows (route, endpoint, the client's or the manager's id). gunicorn's own access
  line is off: it said the same again, at the cost of a second line per request.
- `/metrics`: with `METRICS_TOKEN` set, only to `Authorization: Bearer <token>` (401
  otherwise); without it, only to a direct request from this host (403 otherwise).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from flask_limiter import RequestLimit
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import inspect

from cabinet import logs, metrics
from cabinet.auth.models import Manager
from cabinet.observability import OutboxCollector

bp = Blueprint("observability", __name__)
log = logging.getLogger("cabinet.request")

REQUEST_ID_HEADER = "X-Request-Id"
# In a request's WSGI environ: its id (set by RequestLine) and what the app said of it for the
# log line (set by `observed`).
REQUEST_ID = "cabinet.request_id"
LINE_FIELDS = "cabinet.request_line"
_STARTED = "_observed_started"


def init_app(app: Flask) -> None:
    """Before every other hook, so the time is the whole request's; after every other, so the
    status and the time are the final ones (the request's id is bound by RequestLine)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
    # Flask-Limiter calls it for every limit a request breaches (before its 429).
    app.config.setdefault("RATELIMIT_ON_BREACH_CALLBACK", limit_breached)
    app.register_blueprint(bp)


def limit_breached(limit: RequestLimit) -> None:
    """A limit refused a request: counted by the limit's name (its scope, cabinet/limits.py)."""
    name = str(limit.request_args[-1])
    metrics.LIMITS_HIT.labels(limit=name).inc()
    log.warning("limit hit: %s", name, extra={"limit": name})


def _start() -> None:
    setattr(g, _STARTED, time.perf_counter())


def request_id_of(environ: dict[str, Any]) -> str:
    """The caller's `X-Request-Id` when short and safe, otherwise a new one."""
    return logs.valid_request_id(environ.get("HTTP_X_REQUEST_ID")) or logs.new_request_id()


def _finish(response: Response) -> Response:
    started = g.pop(_STARTED, None)
    if started is None:  # a request that failed before `_start` ran (none is known)
        return response
    rule = request.url_rule
    request_id = observed(
        request.environ,
        response.status_code,
        method=request.method,
        endpoint=rule.endpoint if rule is not None else "unmatched",
        route=rule.rule if rule is not None else None,
        seconds=time.perf_counter() - started,
        who=_who(),
    )
    if request_id is not None:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response


def observed(
    environ: dict[str, Any],
    status: int,
    *,
    method: str,
    endpoint: str,
    route: str | None,
    seconds: float,
    who: dict[str, object],
) -> str | None:
    """The answered request measured, and what the app knows of it kept for its log line;
    returns the request's id, for its response (also for the revisit gate, cabinet/revisits,
    which answers before Flask)."""
    metrics.REQUEST_SECONDS.labels(
        endpoint=endpoint, method=method, status_class=metrics.status_class(status)
    ).observe(seconds)
    environ[LINE_FIELDS] = {"route": route, "endpoint": endpoint, **who}
    request_id = environ.get(REQUEST_ID)
    return None if request_id is None else str(request_id)


WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class RequestLine:
    """The outermost layer of the app: binds the request's id for every line logged while the
    app answers, and writes the request's one line once the app has answered (its status and
    headers sent, its body ready: a streamed body's own time and size are not in the line)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        request_id = environ[REQUEST_ID] = request_id_of(environ)
        # The peer, as it connected: ProxyFix, further in, puts the forwarded address there.
        peer = environ.get("REMOTE_ADDR")
        sent: list[Any] = []

        def remember(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            sent[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        with logs.bound(request_id=request_id):
            try:
                body = self.app(environ, remember)
            except BaseException:
                _write_line(environ, peer, "500", [], started)
                raise
            status, headers = sent if sent else ("500", [])
            _write_line(environ, peer, status, headers, started)
        return body


def _write_line(
    environ: dict[str, Any],
    peer: str | None,
    status_line: str,
    headers: list[tuple[str, str]],
    started: float,
) -> None:
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("RAW_URI") or environ.get("REQUEST_URI") or _path_of(environ)
    status = int(status_line[:3])
    size = next((value for name, value in headers if name.lower() == "content-length"), None)
    fields: dict[str, object] = {
        "method": method,
        "path": path,
        "route": None,
        "endpoint": None,
        "status": status,
        "bytes": int(size) if size and size.isdigit() else (0 if status == 304 else None),
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
        "remote": peer,
        "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
        "referer": environ.get("HTTP_REFERER"),
        "user_agent": environ.get("HTTP_USER_AGENT"),
    }
    fields.update(environ.get(LINE_FIELDS, ()))
    log.info("%s %s %s", method, fields["endpoint"] or path, status, extra=fields)


def _path_of(environ: dict[str, Any]) -> str:
    query = environ.get("QUERY_STRING")
    path = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    return f"{path}?{query}" if query else path


def install(app: Flask) -> None:
    """RequestLine around everything the app is (call last: it must see every request)."""
    app.wsgi_app = RequestLine(app.wsgi_app)  # type: ignore[method-assign]


def _who() -> dict[str, object]:
    """The signed-in account, if this request loaded it (no query is made for the log)."""
    user = g.get("_login_user")
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    # A model's id from its identity: reading the attribute after a commit would reload the row.
    state = inspect(user, raiseerr=False)
    identity = state.identity if state is not None else None
    account_id = identity[0] if identity else getattr(user, "id", None)
    return {"manager_id" if isinstance(user, Manager) else "client_id": account_id}


@bp.get("/metrics")
def exposition() -> Response:
    """The metrics in Prometheus' text format, to Prometheus only."""
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return _plain("Нужен токен метрик (Authorization: Bearer).\n", 401)
    elif not _from_this_host():
        return _plain("Метрики доступны только с этого сервера или по токену.\n", 403)
    response = Response(metrics.exposition([OutboxCollector()]), mimetype=None)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def _from_this_host() -> bool:
    """A direct connection from loopback. A request a proxy passed on (it says so in
    X-Forwarded-For or Forwarded) is a remote visitor's, whatever the peer's address."""
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


def _plain(text: str, status: int) -> Response:
    response = Response(text, status=status, mimetype="text/plain")
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response
