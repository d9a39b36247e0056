"""The demo's pages in the panel (registered only in demo mode, `DEMO_MODE=1`): «Сценарии»,
their steps, «Сбросить демо», and the time machine. Thin: cabinet/demo/ does the work.

A step's outcome is shown on its story's card, beside the step (`role=status`), not at the top
of the page; a step that opens another page leaves a way back to the card («К сценарию …»).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet.auth.roles import ACTING_FOR, RETURN_TO, manager_required
from cabinet.clock import current_context
from cabinet.demo import runs, time_machine
from cabinet.demo.seed import kept_sentence, reset_demo
from cabinet.errors import ProgramRefusal
from cabinet.manage.forms import ClockForm
from cabinet.manage.views import open_cabinet_for
from cabinet.web.auth import safe_next

bp = Blueprint("demo", __name__, url_prefix="/manage")

# The outcome of the last step, shown once on its card: {"story", "step", "text", "ok"}.
OUTCOME = "demo_outcome"


def story_anchor(key: str, index: int | None = None) -> str:
    place = f"story-{key}" if index is None else f"story-{key}-step-{index}"
    return url_for("demo.scenarios") + f"#{place}"


def _tell(key: str, index: int | None, text: str, ok: bool) -> None:
    cookie_session[OUTCOME] = {"story": key, "step": index, "text": text, "ok": ok}


@bp.get("/scenarios")
@manager_required
def scenarios() -> str:
    """«Сценарии»: every demo story, its fresh clients and its checklist."""
    return render_template(
        "manage/scenarios.html",
        stories=runs.board(current_context()),
        outcome=cookie_session.pop(OUTCOME, None),
    )


@bp.post("/scenarios/<key>/start")
@manager_required
def start(key: str) -> BaseResponse:
    """«Начать»: fresh clients for the story at the cabinet's time."""
    context = current_context()
    try:
        runs.start(context, current_user.id, key)
    except ProgramRefusal as refusal:
        _tell(key, None, refusal.message, False)
    else:
        _tell(
            key, None, f"Сценарий «{runs.title_of(key, context)}» начат с новыми клиентами.", True
        )
    return redirect(story_anchor(key), 303)


@bp.post("/scenarios/<key>/steps/<int:index>")
@manager_required
def step(key: str, index: int) -> BaseResponse:
    """One step of a story, through the real services."""
    run_id = request.form.get("run", type=int) or 0
    try:
        outcome = runs.perform(current_context(), current_user.id, key, run_id, index)
    except ProgramRefusal as refusal:
        _tell(key, index, refusal.message, False)
        return redirect(story_anchor(key, index), 303)
    if outcome.open_client is not None:
        return open_cabinet_for(outcome.open_client, story_anchor(key, index))
    if outcome.show_client is not None:
        return redirect(
            url_for("manage.client", client_id=outcome.show_client, story=key, step=index), 303
        )
    if outcome.show_terms:
        return redirect(url_for("terms.index", story=key, step=index), 303)
    _tell(key, index, outcome.message, outcome.ok)
    return redirect(story_anchor(key, index), 303)


@bp.post("/demo/reset")
@manager_required
def reset() -> BaseResponse:
    """«Сбросить демо»: the demo data, terms and clock as `make run` leaves them."""
    cookie_session.pop(ACTING_FOR, None)  # the demo's clients are made anew: none is open
    cookie_session.pop(RETURN_TO, None)
    try:
        cleared = reset_demo(current_context(), current_user.id)
    except ProgramRefusal as refusal:
        flash(refusal.message, "error")
    else:
        kept = kept_sentence(cleared)
        flash(
            "Демо сброшено: демо-клиенты как после запуска, условия программы — только "
            "версия 1 (из справки), время — настоящее." + (f" {kept}" if kept else ""),
            "success",
        )
    return redirect(url_for("demo.scenarios"), 303)


@bp.post("/clock")
@manager_required
def clock() -> BaseResponse:
    """The demo time machine."""
    form = ClockForm()
    if not form.validate_on_submit() or (form.jump.data == "date" and form.day.data is None):
        flash(
            form.day.errors[0]
            if form.day.errors
            else "Выберите, куда переместить время: день, месяц, дату или настоящее.",
            "error",
        )
    else:
        context = current_context()
        try:
            shown = time_machine.move_clock(context, current_user.id, form.jump.data, form.day.data)
        except ProgramRefusal as refusal:
            flash(refusal.message, "error")
        else:
            flash(f"Время кабинета: {shown.astimezone(context.timezone):%d.%m.%Y %H:%M}", "success")
    return redirect(safe_next(request.form.get("next"), url_for("manage.dashboard")))
