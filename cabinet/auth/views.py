"""«Войти» and «Выйти»."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
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
from cabinet.demo import DEMO_CLIENTS, DEMO_PASSWORD
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
            cookie_session.clear()  # no value from before the sign-in survives it
            login_user(client)
            cookie_session.permanent = True  # the idle timeout: PERMANENT_SESSION_LIFETIME
            return redirect(_safe_next(request.args.get("next")))
    status = 422 if request.method == "POST" else 200
    demo = DEMO_CLIENTS if current_app.config["DEMO_MODE"] else ()
    return render_template(
        "auth/login.html", form=form, error=error, demo_clients=demo, demo_password=DEMO_PASSWORD
    ), status


@bp.post("/logout")
@login_required
def logout() -> Response | BaseResponse:
    """End the session here and on the server: the old cookie stops working."""
    services.end_sessions(current_user.id)
    logout_user()
    cookie_session.clear()
    flash("Вы вышли из личного кабинета.")
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("referrals.show")
