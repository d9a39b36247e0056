"""«Пригласить»: the share dialog, sending an invitation, the e-mail's unsubscribe link and the
SMS's refusal link."""

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
from cabinet.clock import current_context
from cabinet.extensions import csrf
from cabinet.htmx import fragment_response, retarget, trigger, wants_fragment
from cabinet.invitations import rules, services
from cabinet.invitations.errors import (
    InvitationRefusal,
    RefusalLinkUnknown,
    UnsubscribeLinkInvalid,
)
from cabinet.invitations.forms import InviteForm
from cabinet.invitations.settings import InvitationSettings
from cabinet.referrals import queries
from cabinet.web import links, seen
from cabinet.web.acting import audit_hook

bp = Blueprint("invitations", __name__)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_url(recipient: str) -> str:
    token = str(_serializer().dumps(recipient))
    base: str = current_app.config["CABINET_BASE_URL"]
    return base.rstrip("/") + url_for("invitations.unsubscribe", token=token)


def refusal_link(token: str) -> str:
    """The SMS's refusal link: CABINET_BASE_URL/s/<token> (short: the SMS has two parts)."""
    base: str = current_app.config["CABINET_BASE_URL"]
    return base.rstrip("/") + url_for("invitations.refuse", token=token)


def _channel(value: str | None) -> rules.Channel:
    return "email" if value == "email" else "sms"


def _dialog_context(form: InviteForm, channel: rules.Channel) -> dict[str, object]:
    client = current_client()
    code = queries.member_code(client.id)
    sharing = links.sharing(code, client.name, client.program_stamp) if code else None
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
    """«Поделиться кодом» (named by what it shows, as the page: cabinet/web/seen.py)."""
    return seen.member_answer(_dialog)


def _dialog() -> Response:
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
                current_context(),
                settings,
                current_client_id(),
                channel,
                form.recipient.data,
                bool(form.consent.data),
                unsubscribe_url,
                links.personal_link,
                before_commit=audit_hook("cabinet_invite", channel=channel),
                consent_ip=request.remote_addr,
                consent_text=str(form.consent.label.text),
                refusal_link=refusal_link,
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
                # The dialog stays open with the outcome: where the person is looking.
                body = render_template(
                    "partials/_share_sent.html", message=message, channel=channel
                )
                response = fragment_response(body)
                trigger(response, "invitation-sent", message)
                return retarget(response, "#share-form")
            flash(message, "success")
            return redirect(url_for("referrals.show", tab="invitations"), 303)
    return _render(form, channel, 422)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str) -> tuple[str, int] | Response:
    """The link in every invitation e-mail (and its `List-Unsubscribe` header): a GET asks
    (mail scanners open links), the button «Отписаться» confirms. A mail client's one-click
    POST (RFC 8058: body `List-Unsubscribe=One-Click`, no cookies, no CSRF token) gets a short
    answer. The signed token is the authority: no CSRF token is needed, and a bad token
    changes nothing."""
    one_click = request.method == "POST" and request.form.get("List-Unsubscribe") == "One-Click"
    try:
        recipient = str(_serializer().loads(token))
    except BadSignature:
        error = UnsubscribeLinkInvalid().message
        if one_click:
            return _plain(error, 400)
        return render_template(
            "invitations/unsubscribe.html", error=error, done=False, recipient=None
        ), 400
    done = False
    if request.method == "POST":
        settings: InvitationSettings = current_app.extensions["invitations"]
        services.opt_out(
            current_context(),
            recipient,
            "one-click" if one_click else "unsubscribe link",
            settings.contact_hash_key,
        )
        done = True
    if one_click:
        return _plain(f"Адрес {recipient} исключен из рассылки приглашений.", 200)
    return render_template(
        "invitations/unsubscribe.html", recipient=recipient, done=done, error=None
    ), 200


@bp.route("/s/<token>", methods=["GET", "POST"])
@csrf.exempt
@limits.refusal_link_limits
def refuse(token: str) -> tuple[str, int]:
    """The refusal link every SMS carries: a GET asks (link previews open links), the button
    «Отказаться» puts the number on the stop list, again and again without harm. The token
    is the authority (no CSRF token, as the e-mail's unsubscribe link); an unknown one is a
    404, counted per IP."""
    settings: InvitationSettings = current_app.extensions["invitations"]
    try:
        if request.method == "POST":
            found = services.refuse(current_context(), settings, token)
        else:
            found = services.refusal(settings, token)
    except RefusalLinkUnknown as unknown:
        return render_template("invitations/refusal_unknown.html", message=unknown.message), 404
    return render_template("invitations/refuse.html", refusal=found), 200


def _plain(text: str, status: int) -> Response:
    response = make_response(text + "\n", status)
    response.mimetype = "text/plain"
    return response
