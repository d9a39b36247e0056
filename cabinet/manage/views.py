"""/manage: sign-in, the dashboard, client lookup and support actions (the demo's pages:
cabinet/manage/demo.py)."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet import limits
from cabinet import referral_page as page
from cabinet.audit import services as audit
from cabinet.auth.roles import ACTING_FOR, RETURN_TO, manager_required, may_open_cabinets
from cabinet.clock import current_context
from cabinet.dashboard import queries as dashboard
from cabinet.demo.time_machine import JUMP_BUTTONS
from cabinet.errors import ProgramRefusal
from cabinet.fraud import queries as fraud
from cabinet.fraud.rules import Signal
from cabinet.inputs import path_of, same_host
from cabinet.invitations.rules import Limits
from cabinet.invitations.settings import InvitationSettings
from cabinet.manage import audit_lines, export, lookup, services, way_back
from cabinet.manage.forms import ApplyForClientForm, ClockForm, RequeueForm, RevokeForm
from cabinet.referrals import queries
from cabinet.referrals.on_behalf import apply_code_for_client
from cabinet.referrals.revocation import revoke_referral
from cabinet.web.auth import MANAGERS, safe_next, sign_in, sign_out

bp = Blueprint("manage", __name__, url_prefix="/manage")

ACTIONS = {
    "time_machine": "машина времени",
    "apply_code": "код применен за клиента",
    "revoke_referral": "реферал отменен",
    "requeue_invitations": "приглашения снова в очереди",
    "terms_draft_saved": "черновик условий сохранен",
    "terms_published": "условия опубликованы",
    "terms_withdrawn": "версия условий отозвана",
    "open_cabinet": "открыт кабинет клиента",
    "cabinet_apply_code": "код применен в кабинете клиента",
    "cabinet_join": "вступление в программу в кабинете клиента",
    "cabinet_invite": "приглашение из кабинета клиента",
    "scenario_start": "демо-сценарий начат",
    "demo_reset": "демо сброшено",
}


def _limits() -> Limits:
    settings: InvitationSettings = current_app.extensions["invitations"]
    return settings.limits


@bp.route("/login", methods=["GET", "POST"])
@limits.login_limits("manager")
def login() -> BaseResponse | tuple[str, int]:
    """Managers sign in here; clients have no account here."""
    return sign_in(MANAGERS)


@bp.post("/logout")
@manager_required
def logout() -> BaseResponse:
    return sign_out(MANAGERS)


@bp.get("")
@manager_required
def dashboard_page() -> BaseResponse:
    return redirect(url_for("manage.dashboard"))


@bp.get("/dashboard", endpoint="dashboard")
@manager_required
def dashboard_view() -> str:
    """The program at a glance."""
    context = current_context()
    now = context.clock.now()
    board = dashboard.build(now, context.timezone, _limits())
    return render_template(
        "manage/dashboard.html",
        board=board,
        in_force=queries.schedule().version_at(now),
        clock_form=ClockForm(),
        requeue_form=RequeueForm(),
        jump_buttons=JUMP_BUTTONS,
        demo=current_app.config["DEMO_MODE"],
        audit_lines=audit_lines.lines(audit.entries(limit=10), ACTIONS, context.timezone),
    )


@bp.get("/dashboard.csv")
@manager_required
def dashboard_csv() -> Response:
    context = current_context()
    board = dashboard.build(context.clock.now(), context.timezone, _limits())
    response = make_response("\ufeff" + export.dashboard_csv(board))  # BOM: Excel reads UTF-8
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = "attachment; filename=referral-dashboard.csv"
    return response


@bp.post("/invitations/requeue")
@manager_required
def requeue_invitations() -> BaseResponse:
    """«Отправить снова»: undelivered invitations back in the queue (after a gateway outage)."""
    form = RequeueForm()
    if form.validate_on_submit():
        count = services.requeue_invitations(current_context(), current_user.id)
        flash(f"Снова в очереди: {count}; действие записано в журнал.", "success")
    return redirect(url_for("manage.dashboard"), 303)


@bp.get("/clients")
@manager_required
def clients() -> str:
    """Find a client by ID, name, code, e-mail or phone."""
    query = request.args.get("q", "")
    return render_template("manage/clients.html", query=query, found=lookup.find_clients(query))


@bp.get("/clients/<int:client_id>")
@manager_required
def client(client_id: int) -> str | tuple[str, int]:
    """What the client sees, its referrals, the audit trail, and the support actions."""
    return _client_page(client_id, ApplyForClientForm(formdata=None))


def _client_page(
    client_id: int, apply_form: ApplyForClientForm, status: int = 200
) -> tuple[str, int]:
    context = current_context()
    now = context.clock.now()
    try:
        view = page.build(client_id, now, context.timezone, "history", None, 100)
    except ProgramRefusal as refusal:
        return render_template(
            "errors/error.html", status=404, title="Клиент не найден", text=refusal.message
        ), 404
    referred = queries.referred_clients(client_id, newest_first=True)
    invited = page.build_tab(client_id, now, context.timezone, "invitations", None, 50).invitations
    return render_template(
        "manage/client.html",
        view=view,
        referred=referred,
        invitations=invited,
        audit_lines=audit_lines.lines(
            audit.entries(client_id=client_id), ACTIONS, context.timezone
        ),
        may_open_cabinet=may_open_cabinets(current_user._get_current_object()),
        apply_form=apply_form,
        revoke_form=RevokeForm(formdata=None),
        signals=_signals(client_id),
        way_back=way_back.to_story(),
    ), status


def _signals(client_id: int) -> list[Signal]:
    return fraud.signals_for(client_id, current_context().timezone)


@bp.post("/clients/<int:client_id>/apply")
@manager_required
def apply_for_client(client_id: int) -> BaseResponse | tuple[str, int]:
    """Apply a code on the client's behalf, with the same rules and checks as the client."""
    form = ApplyForClientForm()
    if form.validate_on_submit():
        try:
            apply_code_for_client(
                current_context(), current_user.id, client_id, form.code.data, form.reason.data
            )
        except ProgramRefusal as refusal:
            form.code.errors = [refusal.message]
        else:
            flash("Код применен за клиента; действие записано в журнал.", "success")
            return redirect(url_for("manage.client", client_id=client_id), 303)
    return _client_page(client_id, form, 422)


@bp.get("/audit")
@manager_required
def audit_log() -> str:
    lines = audit_lines.lines(audit.entries(limit=200), ACTIONS, current_context().timezone)
    return render_template("manage/audit.html", audit_lines=lines)


@bp.post("/referrals/<int:referral_id>/revoke")
@manager_required
def revoke(referral_id: int) -> BaseResponse:
    """Revoke a fraudulent referral: its grants closed, the referrer's ladder recomputed."""
    form = RevokeForm()
    back = _back_from_referrer()
    if not form.validate_on_submit():
        flash("Укажите причину отмены реферала.", "error")
        return redirect(back)
    try:
        revoke_referral(current_context(), current_user.id, referral_id, form.reason.data)
    except ProgramRefusal as refusal:
        flash(refusal.message, "error")
    else:
        flash("Реферал отменен: скидки пересчитаны, действие записано в журнал.", "success")
    return redirect(back)


def _back_from_referrer() -> str:
    """The page the manager came from, if it is a page of this site; else the client search."""
    default = url_for("manage.clients")
    referrer = request.referrer
    if not referrer or not same_host(referrer, request.host):
        return default
    return safe_next(path_of(referrer), default)


# ---- «Открыть как клиент» ------------------------------------------------------------------


@bp.post("/clients/<int:client_id>/open")
@manager_required
def open_cabinet(client_id: int) -> BaseResponse:
    """Open the client's cabinet in this browser (the banner leads back)."""
    back = safe_next(request.form.get("next"), url_for("manage.client", client_id=client_id))
    return open_cabinet_for(client_id, back)


def open_cabinet_for(client_id: int, back: str) -> BaseResponse:
    """The client's cabinet in this browser; «Вернуться в панель» leads to `back`."""
    try:
        services.open_cabinet(current_context(), current_user._get_current_object(), client_id)
    except ProgramRefusal as refusal:
        flash(refusal.message, "error")
        return redirect(back, 303)
    cookie_session[ACTING_FOR] = client_id
    cookie_session[RETURN_TO] = back
    return redirect(url_for("referrals.show"), 303)


@bp.post("/cabinet/close")
@manager_required
def close_cabinet() -> BaseResponse:
    """«Вернуться в панель»: to the page the cabinet was opened from."""
    cookie_session.pop(ACTING_FOR, None)
    back = cookie_session.pop(RETURN_TO, None)
    return redirect(safe_next(back, url_for("manage.dashboard")), 303)
