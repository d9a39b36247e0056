"""Wiring shared by every page."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from cabinet import guard, limits
from cabinet.auth.models import Manager
from cabinet.auth.roles import current_visitor
from cabinet.auth.services import load_session_user
from cabinet.clients.models import Client, ClientRecord
from cabinet.clock import Clock, Context, current_context
from cabinet.db import db, reads_only
from cabinet.demo.clock import DemoClock
from cabinet.extensions import csrf, login_manager
from cabinet.htmx import is_htmx, redirect_to, retarget, wants_fragment
from cabinet.moments import show_date, show_moment
from cabinet.web import csrf_tokens, filters, oidc, urls
from cabinet.web.sessions import IdleSessionInterface

bp = Blueprint("shell", __name__)
LOGIN_MESSAGE = "Войдите в личный кабинет, чтобы продолжить."

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)


def content_security_policy(provider_origin: str | None) -> str:
    """The policy; with OpenID Connect, «Выйти» (a form) is sent on to the provider's
    end-session page, so `form-action` names the provider's origin too."""
    if provider_origin is None:
        return CONTENT_SECURITY_POLICY
    return CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {provider_origin}"
    )


@bp.get("/")
def index() -> BaseResponse:
    """The cabinet opens on its only section."""
    return redirect(url_for("referrals.show"))


def session_clock(app: Flask) -> Clock:
    """The clock a session's age is measured on: the app's, but real time in the demo (its time
    machine moves the program's time, not the cookie's: a month ahead would sign the manager
    out, and a jump back would make every cookie one from the future)."""
    context: Context = app.extensions["context"]
    clock = context.clock
    return clock.real if isinstance(clock, DemoClock) else clock


def init_app(app: Flask) -> None:
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    production = app.config["CABINET_ENV"] == "production"
    app.config.update(
        PERMANENT_SESSION_LIFETIME=idle,  # the signed cookie older than this is refused
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        SESSION_COOKIE_NAME="cabinet_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
    )
    app.session_interface = IdleSessionInterface(session_clock(app))
    oidc.init_app(app)
    app.extensions["content_security_policy"] = content_security_policy(oidc.provider_origin(app))
    app.extensions[_SECURITY_HEADERS] = _security_headers_of(app)
    csrf.init_app(app)
    csrf_tokens.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_session_user)
    login_manager.unauthorized_handler(_unauthorized)

    zone = app.extensions["context"].timezone
    app.add_template_filter(lambda m: show_moment(m, zone), "moment")
    app.add_template_filter(lambda m: show_date(m, zone), "date")
    filters.init_app(app)
    urls.init_app(app)
    app.context_processor(_template_context)
    app.before_request(_reads_only_for_reads)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    for error in guard.DATABASE_DOWN:
        app.register_error_handler(error, _database_down)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.register_blueprint(bp)


def _unauthorized() -> BaseResponse:
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if not is_htmx():
        flash(LOGIN_MESSAGE)
    return redirect_to(target)


def _reads_only_for_reads() -> None:
    if request.method in limits.READ_METHODS:  # GET, HEAD, OPTIONS: they change nothing
        reads_only()


# The headers every response carries, in app.extensions: (name, lowercased name, value).
_SECURITY_HEADERS = "security_headers"


def _security_headers(response: Response) -> Response:
    """On every response, error pages included, unless the view set its own. Reads no
    database: it must work when the database is what failed."""
    headers = response.headers
    # One pass over the response's names: Werkzeug's Headers is a list, and a lookup per
    # header lowercased every name again each time (docs/performance.md).
    present = set(headers.keys(lower=True))
    for name, lowered, value in current_app.extensions[_SECURITY_HEADERS]:
        if lowered not in present:
            headers.add(name, value)
    if "cache-control" not in present and "_user_id" in cookie_session:
        headers.add("Cache-Control", "no-store")
    return response


def security_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers every response carries (also the revisit gate's, cabinet/revisits)."""
    return [(name, value) for name, _, value in app.extensions[_SECURITY_HEADERS]]


def _security_headers_of(app: Flask) -> tuple[tuple[str, str, str], ...]:
    """Worked out once: the policy and the environment are the app's, fixed at its start."""
    headers = [
        ("Content-Security-Policy", app.extensions["content_security_policy"]),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    if app.config["CABINET_ENV"] == "production":
        headers.append(("Strict-Transport-Security", guard.HSTS))
    return tuple((name, name.lower(), value) for name, value in headers)


_TITLES = {
    400: "Запрос не понят",
    403: "Доступ запрещен",
    404: "Страница не найдена",
    405: "Так нельзя",
    413: "Слишком большой запрос",
    503: "Сервис временно недоступен",
    429: "Слишком много запросов",
}


# A request from a form in an open dialog gets its refusal (a limit, a stale page) inside the
# dialog, not behind it: the id htmx targets → the dialog's alert region.
_ALERTS_OF = {"share-form": "#share-alert"}


def _error_page(status: int, title: str, text: str) -> Response:
    """A full error page; for htmx, the message goes to the page's #alerts region, or to the
    open dialog's own when the request came from it."""
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    response = make_response(
        render_template(template, status=status, title=title, text=text), status
    )
    region = _ALERTS_OF.get(request.headers.get("HX-Target", ""), "#alerts")
    return retarget(response, region, "innerHTML")


def _csrf_error(error: CSRFError) -> Response:
    return _error_page(
        400,
        "Страница устарела",
        "Форма отправлена со старой страницы. Обновите страницу и повторите действие.",
    )


def _http_error(error: HTTPException) -> Response | HTTPException:
    status = error.code or 500
    if status < 400:
        return error
    if status == 429:
        return _too_many_requests()
    text = _TEXTS.get(status, "")
    if isinstance(error, guard.UnsafeInput):
        text = error.description or text
    return _error_page(status, _TITLES.get(status, "Ошибка"), text)


def _too_many_requests() -> Response:
    """A limit refused the request: say when to try again (the same for htmx)."""
    seconds = limits.retry_after_seconds()
    response = _error_page(
        429,
        _TITLES[429],
        f"Слишком много попыток подряд. Попробуйте снова {limits.wait_text(seconds)}.",
    )
    response.headers["Retry-After"] = str(seconds)
    return response


def _database_down(error: Exception) -> Response:
    """The database does not answer: a 503 that says so, rendered without touching it; the
    next request tries again (dead pooled connections are replaced), so no restart is needed."""
    current_app.logger.error("database unavailable: %s", type(error).__name__)
    guard.mark_database_down()
    try:
        db.session.rollback()
    except Exception:  # the connection is gone; the session is discarded anyway  # noqa: BLE001
        current_app.logger.debug("rollback failed on a dead connection")
    try:
        response = _error_page(
            503,
            "Сервис временно недоступен",
            "Личный кабинет не может связаться с базой данных. Попробуйте еще раз через "
            "минуту; ваши данные не изменились.",
        )
    except Exception:  # even the page cannot be drawn: a plain answer  # noqa: BLE001
        response = make_response(
            "Сервис временно недоступен. Попробуйте еще раз через минуту.", 503
        )
        response.mimetype = "text/plain"
    response.headers["Retry-After"] = str(guard.DATABASE_RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


_TEXTS = {
    400: "Запрос не понят. Вернитесь на страницу и повторите действие.",
    413: "Запрос слишком велик. Проверьте введенные данные.",
    404: "Такой страницы нет в личном кабинете. Вернитесь на главную.",
    405: "Это действие выполняется кнопкой на странице.",
}


def _unexpected_error(error: Exception) -> Response:
    current_app.logger.exception("unexpected error")
    if guard.database_is_down(error) or guard.database_is_down(error.__cause__ or error):
        return _database_down(error)
    try:
        db.session.rollback()
        return _error_page(
            500,
            "Что-то пошло не так",
            "Мы уже знаем об ошибке. Попробуйте еще раз через минуту; ваши данные не изменились.",
        )
    except Exception:  # noqa: BLE001 - the page itself failed: still an answer with headers
        guard.mark_database_down()
        response = make_response("Что-то пошло не так. Попробуйте еще раз через минуту.", 500)
        response.mimetype = "text/plain"
        return response


# The client cabinet's pages (a manager acting there sees the client's menu).
CABINET_BLUEPRINTS = frozenset({"referrals", "invitations"})
MANAGER_MENU: tuple[tuple[str, str], ...] = (
    ("manage.dashboard", "Обзор программы"),
    ("report.index", "Отчет для финансов"),
    ("manage.clients", "Клиенты"),
    ("terms.index", "Условия программы"),
    ("webhooks.index", "Вебхуки"),
    ("manage.audit_log", "Журнал действий"),
)
DEMO_MENU: tuple[tuple[str, str], ...] = (("demo.scenarios", "Сценарии"),)


def _template_context() -> dict[str, Any]:
    """Values every page template may use: who is signed in, and the demo clock."""
    user = current_user._get_current_object() if current_user.is_authenticated else None
    database_up = not g.get("database_down")
    visitor = current_visitor() if isinstance(user, Manager) and database_up else None
    demo = current_app.config["DEMO_MODE"]
    values: dict[str, Any] = {
        "signed_in": user if isinstance(user, ClientRecord | Client) else None,
        "manager": user if isinstance(user, Manager) else None,
        # A manager in a client's cabinet: the banner on every page, the client's menu there.
        "acting": visitor,
        "in_cabinet": visitor is not None and request.blueprint in CABINET_BLUEPRINTS,
        "manager_menu": MANAGER_MENU + (DEMO_MENU if demo else ()),
        "sms_options_url": current_app.config["SMS_OPTIONS_URL"],
        "demo_now": None,
        "demo_shifted": False,
    }
    if demo and database_up:
        context = current_context()
        values["demo_now"] = show_moment(context.clock.now(), context.timezone)
        clock = context.clock
        values["demo_shifted"] = isinstance(clock, DemoClock) and clock.offset() != 0
    return values
