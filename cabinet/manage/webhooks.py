"""/manage/webhooks: «Вебхуки» — subscribers of the events feed, each one's delivery log,
adding (the secret shown once), removing and sending events again."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet.auth.roles import manager_required
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal
from cabinet.manage.forms import RemoveWebhookForm, ReplayForm, WebhookForm
from cabinet.webhooks import errors, queries, services
from cabinet.webhooks.services import Added
from cabinet.webhooks.settings import WebhookSettings

bp = Blueprint("webhooks", __name__, url_prefix="/manage/webhooks")

STATUS_NAMES = {
    "queued": "ждет отправки",
    "sending": "отправляется",
    "delivered": "доставлено",
    "failed": "не доставлено",
}


def _may_manage() -> bool:
    return bool(getattr(current_user, "manages_webhooks", False))


def _index(form: WebhookForm, added: Added | None = None, status: int = 200) -> tuple[str, int]:
    return render_template(
        "manage/webhooks.html",
        subscribers=queries.subscribers(),
        form=form,
        added=added,
        may_manage=_may_manage(),
    ), status


def _refused(refusal: ProgramRefusal) -> tuple[str, int]:
    status = 404 if isinstance(refusal, errors.SubscriberNotFound) else 403
    return render_template(
        "errors/error.html", status=status, title="Вебхуки", text=refusal.message
    ), status


@bp.get("")
@manager_required
def index() -> tuple[str, int]:
    """The subscribers, and a form to add one."""
    return _index(WebhookForm(formdata=None))


@bp.post("")
@manager_required
def add() -> tuple[str, int]:
    """A new subscriber: its secret is on this page once, never again."""
    form = WebhookForm()
    if not form.validate_on_submit():
        return _index(form, status=422)
    settings: WebhookSettings = current_app.extensions["webhooks"]
    try:
        added = services.add_subscriber(
            current_context(),
            current_user.id,
            form.url.data,
            form.note.data or "",
            settings.allow_http_loopback,
        )
    except errors.WebhooksRightMissing as refusal:
        return _refused(refusal)
    except ProgramRefusal as refusal:
        form.url.errors = [refusal.message]
        return _index(form, status=422)
    return _index(WebhookForm(formdata=None), added)


@bp.get("/<int:subscriber_id>")
@manager_required
def log(subscriber_id: int) -> tuple[str, int]:
    """The subscriber's delivery log: every event, its attempts, the last answer, the next
    try (Moscow time)."""
    try:
        subscriber = queries.subscriber(subscriber_id)
    except ProgramRefusal as refusal:
        return _refused(refusal)
    return render_template(
        "manage/webhook_log.html",
        subscriber=subscriber,
        lines=queries.delivery_log(subscriber_id),
        replay_form=ReplayForm(formdata=None),
        remove_form=RemoveWebhookForm(formdata=None),
        may_manage=_may_manage(),
        statuses=STATUS_NAMES,
    ), 200


@bp.post("/<int:subscriber_id>/replay")
@manager_required
def replay(subscriber_id: int) -> BaseResponse | tuple[str, int]:
    """Send the events from a number on again, under the same webhook-ids."""
    form = ReplayForm()
    back = url_for("webhooks.log", subscriber_id=subscriber_id)
    if not form.validate_on_submit():
        flash(" ".join(form.from_event.errors) or "Укажите номер события.", "error")
        return redirect(back, 303)
    try:
        count = services.replay(
            current_context(), current_user.id, subscriber_id, form.from_event.data
        )
    except (errors.WebhooksRightMissing, errors.SubscriberNotFound) as refusal:
        return _refused(refusal)
    except ProgramRefusal as refusal:
        flash(refusal.message, "error")
        return redirect(back, 303)
    flash(
        f"Снова в очереди: {count} с события № {form.from_event.data}; действие записано в журнал.",
        "success",
    )
    return redirect(back, 303)


@bp.post("/<int:subscriber_id>/remove")
@manager_required
def remove(subscriber_id: int) -> BaseResponse | tuple[str, int]:
    """Stop sending to a subscriber; its log stays in the database."""
    form = RemoveWebhookForm()
    if not form.validate_on_submit():
        return redirect(url_for("webhooks.log", subscriber_id=subscriber_id), 303)
    try:
        url = services.remove_subscriber(current_context(), current_user.id, subscriber_id)
    except ProgramRefusal as refusal:
        return _refused(refusal)
    flash(f"Подписчик {url} удален: события ему больше не отправляются.", "success")
    return redirect(url_for("webhooks.index"), 303)
