"""The gateways' signed callbacks: delivery receipts and inbound SMS («СТОП»).

No session and no CSRF token: the HMAC signature over the timestamp and the body is the
authority (cabinet/invitations/callbacks.py). Anything refused answers 4xx with a Russian
message and changes nothing; while `GATEWAY_CALLBACK_SECRET` is unset, every callback is
refused (400, «не настроен»)."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from cabinet.clock import current_context
from cabinet.invitations import callbacks, services
from cabinet.invitations.errors import CallbackRefused, CallbackReplayed, CallbacksOff
from cabinet.invitations.settings import InvitationSettings

bp = Blueprint("callbacks", __name__)


def _verified() -> tuple[InvitationSettings, str, bytes]:
    settings: InvitationSettings = current_app.extensions["invitations"]
    if not settings.callback_secret:
        raise CallbacksOff()
    body = request.get_data(cache=False)
    digest = callbacks.verify(
        settings.callback_secret,
        request.headers.get(callbacks.TIMESTAMP_HEADER, ""),
        request.headers.get(callbacks.SIGNATURE_HEADER, ""),
        body,
        current_context().clock.now(),
        settings.callback_window_seconds,
    )
    return settings, digest, body


def _refused(refusal: CallbackRefused) -> tuple[Response, int]:
    status = 409 if isinstance(refusal, CallbackReplayed) else 400
    return jsonify(error=refusal.message), status


@bp.post("/gateway/receipts")
def receipt() -> tuple[Response, int]:
    """A delivery receipt: `{"key": …, "status": "delivered|undeliverable|expired"}`."""
    try:
        settings, digest, body = _verified()
        changed = services.record_receipt(
            current_context(),
            callbacks.parse_receipt(body),
            digest,
            settings.callback_window_seconds,
        )
    except CallbackRefused as refusal:
        return _refused(refusal)
    return jsonify(recorded=changed), 200


@bp.post("/gateway/inbound")
def inbound() -> tuple[Response, int]:
    """An SMS sent back: `{"from": "+79101234567", "text": "СТОП"}`."""
    try:
        settings, digest, body = _verified()
        added = services.record_inbound(
            current_context(),
            settings,
            callbacks.parse_inbound(body),
            digest,
            settings.callback_window_seconds,
        )
    except CallbackRefused as refusal:
        return _refused(refusal)
    return jsonify(stop_listed=added), 200


def init_app(app: Flask) -> None:
    """Register the blueprint, exempt from CSRF (signed requests, no cookies)."""
    from cabinet.extensions import csrf

    csrf.exempt(bp)
    app.register_blueprint(bp)
