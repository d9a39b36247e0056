"""«Войти» and «Выйти», for the cabinet's clients and for the panel's managers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet import limits
from cabinet.auth import services
from cabinet.auth.forms import LoginForm
from cabinet.auth.models import Manager
from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.demo.seed import DEMO_CLIENTS, DEMO_PASSWORD
from cabinet.errors import ProgramRefusal
from cabinet.inputs import safe_redirect_target

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


CLIENTS = Audience(
    title="Вход",
    heading="Вход в личный кабинет",
    intro="",
    endpoint="auth.login",
    home="referrals.show",
    signed_out="Вы вышли из личного кабинета.",
    authenticate=services.authenticate,
    offers_demo=True,
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
)


def sign_in(audience: Audience) -> BaseResponse | tuple[str, int]:
    """The sign-in form; a fresh session on success."""
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = audience.authenticate(form.email.data, form.password.data)
        except ProgramRefusal as refusal:
            error = refusal.message
        else:
            start_session(user)
            return redirect(safe_next(request.args.get("next"), url_for(audience.home)))
    status = 422 if request.method == "POST" else 200
    demo = DEMO_CLIENTS if audience.offers_demo and current_app.config["DEMO_MODE"] else ()
    return render_template(
        "auth/login.html",
        audience=audience,
        form=form,
        error=error,
        demo_clients=demo,
        demo_password=DEMO_PASSWORD,
    ), status


def sign_out(audience: Audience) -> BaseResponse:
    """End the session here and on the server: the old cookie stops working."""
    services.end_sessions(current_user._get_current_object())
    logout_user()
    cookie_session.clear()
    flash(audience.signed_out)
    return redirect(url_for(audience.endpoint))


@bp.route("/login", methods=["GET", "POST"])
@limits.login_limits
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
