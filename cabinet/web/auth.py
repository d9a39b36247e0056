"""«Войти» and «Выйти», for the cabinet's clients and for the panel's managers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet import limits
from cabinet.auth import identity, services
from cabinet.auth.forms import LoginForm
from cabinet.auth.models import Manager
from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.demo.seed import DEMO_CLIENTS, DEMO_PASSWORD
from cabinet.errors import ProgramRefusal
from cabinet.inputs import safe_redirect_target
from cabinet.web import oidc

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class Audience:
    """Who signs in at a login page, and what that page says."""

    title: str
    heading: str
    intro: str
    endpoint: str  # the login page's own endpoint
    home: str  # where a fresh session lands
    signed_out: str
    authenticate: Callable[[str, str], Client | Manager]
    offers_demo: bool
    oidc_endpoint: str  # «Войти» through the operator's identity provider
    is_manager: bool


CLIENTS = Audience(
    title="Вход",
    heading="Вход в личный кабинет",
    intro="",
    endpoint="auth.login",
    home="referrals.show",
    signed_out="Вы вышли из личного кабинета.",
    authenticate=services.authenticate,
    offers_demo=True,
    oidc_endpoint="auth.oidc_start_client",
    is_manager=False,
)
MANAGERS = Audience(
    title="Вход для менеджеров",
    heading="Панель менеджера",
    intro="Реферальная программа «Корпоративной АТС»: обзор, поддержка клиентов, демо.",
    endpoint="manage.login",
    home="manage.dashboard",
    signed_out="Вы вышли из панели менеджера.",
    authenticate=services.authenticate_manager,
    offers_demo=False,
    oidc_endpoint="auth.oidc_start_manager",
    is_manager=True,
)
AUDIENCES = {"client": CLIENTS, "manager": MANAGERS}

SIGN_IN_FORM_OFF = (
    "Вход по паролю отключен. Нажмите «Войти», чтобы войти через учетную запись оператора."
)
# Session keys: the ID token (the hint for the provider at sign-out), and, between «Войти» and
# the provider's answer, who is signing in and where to go afterwards.
ID_TOKEN = "oidc_id_token"  # noqa: S105 - a session key
SIGNING_IN_AS = "oidc_audience"
SIGNING_IN_NEXT = "oidc_next"


def sign_in(audience: Audience) -> BaseResponse | tuple[str, int]:
    """The sign-in form; a fresh session on success."""
    form = LoginForm()
    error = None
    passwords = bool(current_app.config["PASSWORD_SIGN_IN"])
    if request.method == "POST" and not passwords:
        return _login_page(audience, form, SIGN_IN_FORM_OFF, 403)
    if form.validate_on_submit():
        try:
            user = audience.authenticate(form.email.data, form.password.data)
        except ProgramRefusal as refusal:
            error = refusal.message
        else:
            start_session(user)
            return redirect(safe_next(request.args.get("next"), url_for(audience.home)))
    return _login_page(audience, form, error, 422 if request.method == "POST" else 200)


def _login_page(
    audience: Audience, form: LoginForm, error: str | None, status: int
) -> tuple[str, int]:
    demo = DEMO_CLIENTS if audience.offers_demo and current_app.config["DEMO_MODE"] else ()
    oidc_url = (
        url_for(audience.oidc_endpoint, next=request.args.get("next")) if oidc.enabled() else None
    )
    return render_template(
        "auth/login.html",
        audience=audience,
        form=form,
        error=error,
        demo_clients=demo,
        demo_password=DEMO_PASSWORD,
        oidc_url=oidc_url,
        password_sign_in=bool(current_app.config["PASSWORD_SIGN_IN"]),
    ), status


def sign_out(audience: Audience) -> BaseResponse:
    """End the session here and on the server: the old cookie stops working."""
    id_token = cookie_session.get(ID_TOKEN)
    services.end_sessions(current_user._get_current_object())
    logout_user()
    cookie_session.clear()
    flash(audience.signed_out)
    response = redirect(url_for(audience.endpoint))
    if isinstance(id_token, str) and oidc.enabled():
        # The provider's session ends too; it sends the browser back to the login page.
        provider_logout = oidc.logout_url(id_token, url_for(audience.endpoint))
        if provider_logout is not None:
            response = redirect(provider_logout)
    # The pages are kept by the browser to be revalidated (`private, no-cache`:
    # cabinet/conditional.py); on a shared computer «Назад» must not show them after «Выйти».
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


def oidc_start(audience: Audience) -> BaseResponse:
    """«Войти»: off to the operator's identity provider."""
    if not oidc.enabled():
        abort(404)
    if current_user.is_authenticated:
        return redirect(url_for(audience.home))
    cookie_session[SIGNING_IN_AS] = "manager" if audience.is_manager else "client"
    cookie_session[SIGNING_IN_NEXT] = safe_next(request.args.get("next"), url_for(audience.home))
    try:
        return oidc.start()
    except oidc.SignInFailed as failure:
        return _sign_in_failed(audience, failure)


@bp.get("/login/oidc")
def oidc_start_client() -> BaseResponse:
    """A client signs in through the operator's identity provider."""
    return oidc_start(CLIENTS)


@bp.get("/manage/login/oidc")
def oidc_start_manager() -> BaseResponse:
    """A manager signs in through the operator's identity provider."""
    return oidc_start(MANAGERS)


@bp.get(oidc.CALLBACK_PATH)
def oidc_callback() -> BaseResponse | tuple[str, int]:
    """The provider's answer: verified, then the client (or manager) it names gets a fresh
    session; anything else, a page that says why, and no session."""
    if not oidc.enabled():
        abort(404)
    audience = AUDIENCES.get(str(cookie_session.pop(SIGNING_IN_AS, "")), CLIENTS)
    target = safe_next(cookie_session.pop(SIGNING_IN_NEXT, None), url_for(audience.home))
    try:
        signed = oidc.finish()
    except oidc.SignInFailed as failure:
        return _sign_in_failed(audience, failure)
    config = current_app.config
    try:
        user: Client | Manager = (
            identity.manager_named(
                signed.claims,
                role_claim=config["OIDC_MANAGER_ROLE_CLAIM"],
                role=config["OIDC_MANAGER_ROLE"],
                email_claim=config["OIDC_EMAIL_CLAIM"],
            )
            if audience.is_manager
            else identity.client_named(signed.claims, config["OIDC_CLIENT_ID_CLAIM"])
        )
    except ProgramRefusal as refusal:
        current_app.logger.info("oidc sign-in refused: %s", type(refusal).__name__)
        return _refusal_page(audience, "Вход невозможен", refusal.message, 403)
    start_session(user)
    cookie_session[ID_TOKEN] = signed.id_token
    return redirect(target)


def _sign_in_failed(audience: Audience, failure: oidc.SignInFailed) -> BaseResponse:
    current_app.logger.warning("oidc sign-in failed: %s", failure.reason)
    if failure.unavailable:
        return _refusal_page(
            audience,
            "Сервер входа недоступен",
            "Сервер входа «Корпоративной АТС» не отвечает. Попробуйте войти через минуту.",
            503,
        )
    return _refusal_page(
        audience,
        "Вход не удался",
        "Ответ сервера входа не прошел проверку, поэтому вход не выполнен. Начните вход заново.",
        400,
    )


def _refusal_page(audience: Audience, title: str, text: str, status: int) -> BaseResponse:
    page = render_template(
        "auth/refused.html", title=title, text=text, retry_url=url_for(audience.endpoint)
    )
    return make_response(page, status)


@bp.route("/login", methods=["GET", "POST"])
@limits.login_limits("client")
def login() -> BaseResponse | tuple[str, int]:
    """A client signs in to the cabinet."""
    if current_user.is_authenticated:
        return redirect(url_for("referrals.show"))
    return sign_in(CLIENTS)


@bp.post("/login/demo/<int:client_id>")
def demo_login(client_id: int) -> BaseResponse:
    """Demo mode only: sign in as one of the demo clients with one click."""
    if not current_app.config["DEMO_MODE"] or client_id not in {c.id for c in DEMO_CLIENTS}:
        abort(404)
    client = db.session.get(Client, client_id)
    if client is None or not client.active:
        abort(404)
    start_session(client)
    return redirect(url_for("referrals.show"))


@bp.post("/logout")
@login_required
def logout() -> BaseResponse:
    return sign_out(CLIENTS)


def start_session(user: Client | Manager) -> None:
    """A fresh session for a signed-in client or manager."""
    cookie_session.clear()  # no value from before the sign-in survives it
    login_user(user)
    cookie_session.permanent = True  # the idle timeout: PERMANENT_SESSION_LIFETIME


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect (cabinet/inputs.py decides)."""
    return safe_redirect_target(target, default)
