"""«Войти» and «Выйти»."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet.auth import services
from cabinet.auth.forms import LoginForm
from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.demo import DEMO_CLIENTS, DEMO_PASSWORD
from cabinet.manage.models import Manager
from cabinet.referrals.errors import ProgramRefusal

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> BaseResponse | tuple[str, int]:
    """The sign-in form; a fresh session on success."""
    if current_user.is_authenticated:
        return redirect(url_for("referrals.show"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            client = services.authenticate(form.email.data, form.password.data)
        except ProgramRefusal as refusal:
            error = refusal.message
        else:
            start_session(client)
            return redirect(safe_next(request.args.get("next"), url_for("referrals.show")))
    status = 422 if request.method == "POST" else 200
    demo = DEMO_CLIENTS if current_app.config["DEMO_MODE"] else ()
    return render_template(
        "auth/login.html", form=form, error=error, demo_clients=demo, demo_password=DEMO_PASSWORD
    ), status


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
def logout() -> Response | BaseResponse:
    """End the session here and on the server: the old cookie stops working."""
    services.end_sessions(current_user.id)
    logout_user()
    cookie_session.clear()
    flash("Вы вышли из личного кабинета.")
    return redirect(url_for("auth.login"))


def start_session(user: Client | Manager) -> None:
    """A fresh session for a signed-in client or manager."""
    cookie_session.clear()  # no value from before the sign-in survives it
    login_user(user)
    cookie_session.permanent = True  # the idle timeout: PERMANENT_SESSION_LIFETIME


def safe_next(target: str | None, default: str) -> str:
    """Only a path on this site: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return default
