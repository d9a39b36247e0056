"""«Пригласить»: the share dialog, sending an invitation, and the unsubscribe link."""

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
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.wrappers import Response as BaseResponse

from cabinet import limits
from cabinet.auth.roles import (
    client_action,
    client_required,
    current_client,
    current_client_id,
)
from cabinet.clock import current_program
from cabinet.htmx import fragment_response, retarget, trigger, wants_fragment
from cabinet.invitations import rules, services
from cabinet.invitations.errors import InvitationRefusal, UnsubscribeLinkInvalid
from cabinet.invitations.forms import InviteForm
from cabinet.invitations.settings import InvitationSettings
from cabinet.referrals import queries
from cabinet.web import links
from cabinet.web.acting import audit_hook

bp = Blueprint("invitations", __name__)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_url(recipient: str) -> str:
    token = str(_serializer().dumps(recipient))
    base: str = current_app.config["CABINET_BASE_URL"]
    return base.rstrip("/") + url_for("invitations.unsubscribe", token=token)


def _channel(value: str | None) -> rules.Channel:
    return "email" if value == "email" else "sms"


def _dialog_context(form: InviteForm, channel: rules.Channel) -> dict[str, object]:
    code = queries.member_code(current_client_id())
    sharing = links.sharing(code, current_client().name) if code else None
    return {
        "form": form,
        "channel": channel,
        "code": code,
        "channels": CHANNEL_LABELS,
        "sharing": sharing,
    }


CHANNEL_LABELS = (("email", "Отправить email"), ("sms", "Отправить SMS"))


def _render(form: InviteForm, channel: rules.Channel, status: int = 200) -> Response:
    """The dialog for htmx (or just its form, on a channel switch or an error); a page
    without JavaScript."""
    context = _dialog_context(form, channel)
    if wants_fragment():
        part = request.args.get("part") == "form" or request.method == "POST"
        template = "partials/_share_form.html" if part else "partials/_share_dialog.html"
        response = fragment_response(render_template(template, **context), status)
        if request.method == "POST":
            retarget(response, "#share-form")
        return response
    return make_response(render_template("invitations/invite.html", **context), status)


@bp.get("/referral/invite")
@client_required
def dialog() -> Response:
    """«Поделиться кодом»."""
    channel = _channel(request.args.get("channel"))
    form = InviteForm(formdata=None, channel=channel)
    return _render(form, channel)


@bp.post("/referral/invite")
@client_required
@limits.invite_limits
@client_action
def send() -> Response | BaseResponse:
    """«Пригласить»: validate, check the limits, queue the message."""
    form = InviteForm()
    channel = _channel(form.channel.data)
    if form.validate_on_submit():
        settings: InvitationSettings = current_app.extensions["invitations"]
        try:
            queued = services.invite(
                current_program(),
                settings,
                current_client_id(),
                channel,
                form.recipient.data,
                bool(form.consent.data),
                unsubscribe_url,
                links.personal_link,
                before_commit=audit_hook("cabinet_invite", channel=channel),
            )
        except InvitationRefusal as refusal:
            field = getattr(form, refusal.field, None) if refusal.field else None
            if field is not None:
                field.errors = [refusal.message]
            else:
                form.form_errors.append(refusal.message)
        else:
            message = f"Приглашение отправлено на {queued.shown_recipient}"
            if wants_fragment():
                response = make_response(render_template("partials/_notice.html", message=message))
                trigger(response, "invitation-sent", message)
                return retarget(response, "#alerts", "innerHTML")
            flash(message, "success")
            return redirect(url_for("referrals.show", tab="invitations"), 303)
    return _render(form, channel, 422)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str) -> tuple[str, int]:
    """The link in every invitation e-mail: confirm, then the address is on the stop list.
    (A GET only asks: mail scanners open links.)"""
    try:
        recipient = str(_serializer().loads(token))
    except BadSignature:
        return render_template(
            "invitations/unsubscribe.html",
            error=UnsubscribeLinkInvalid().message,
            done=False,
            recipient=None,
        ), 400
    done = False
    if request.method == "POST":
        services.opt_out(current_program(), recipient, "unsubscribe link")
        done = True
    return render_template(
        "invitations/unsubscribe.html", recipient=recipient, done=done, error=None
    ), 200
