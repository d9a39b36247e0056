"""«Сообщать мне по e-mail, когда друг применит мой код»: the member's switch for the notice
the outbox sends when a code is applied (cabinet/invitations/notices.py)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, Response, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import BooleanField

from cabinet.auth.roles import client_action, client_required, current_client, current_client_id
from cabinet.db import db
from cabinet.htmx import fragment_response, wants_fragment
from cabinet.invitations import notices
from cabinet.referrals.models import Member

bp = Blueprint("notices", __name__, url_prefix="/referral")
PARTIAL = "partials/_applied_notice.html"


class NoticeSwitchForm(FlaskForm):  # type: ignore[misc]
    notify = BooleanField("Сообщать мне по e-mail, когда друг применит мой код")


@dataclass(frozen=True)
class Switch:
    on: bool
    email: str | None  # the sign-in address the notice goes to


def switch() -> Switch | None:
    """The signed-in member's switch (None for a client that has not joined): one statement."""
    on = db.session.scalar(
        select(Member.notify_applied).where(Member.client_id == current_client_id())
    )
    return shown(on)


def shown(on: bool | None) -> Switch | None:
    """The switch as the signed-in member sees it, from its stored value (None: no member)."""
    return None if on is None else Switch(bool(on), current_client().email)


def saved_words(on: bool, email: str | None) -> str:
    if not on:
        return "Сохранено: письма о примененном коде приходить не будут."
    if not email:
        return "Сохранено. Письма придут, когда в кабинете будет указан e-mail для входа."
    return f"Сохранено: когда друг применит ваш код, мы сообщим на {email}."


@bp.post("/notice")
@client_required
@client_action
def save() -> Response | BaseResponse:
    """«Сохранить»: the switch, for a member; with htmx, the partial in place."""
    form = NoticeSwitchForm()
    if not form.validate_on_submit():  # only the CSRF token can be wrong
        return Response("Форма устарела: обновите страницу.", 400, mimetype="text/plain")
    on = bool(form.notify.data)
    if not notices.set_switch(current_client_id(), on):
        return Response("Сначала вступите в программу.", 409, mimetype="text/plain")
    message = saved_words(on, current_client().email)
    if wants_fragment():
        state = Switch(on, current_client().email)
        return fragment_response(render_template(PARTIAL, notice_switch=state, saved=message))
    flash(message, "success")
    return redirect(url_for("referrals.show") + "#applied-notice", 303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_global(switch, "applied_notice_switch")
