from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, ValidationError

from cabinet.invitations import errors
from cabinet.invitations.rules import CHANNELS, MAX_INPUT, normalise_recipient
from cabinet.validators import SafeText

TOO_LONG = "Слишком длинное значение."


class InviteForm(FlaskForm):  # type: ignore[misc]
    """Every field is checked on each submit, so the dialog shows all its errors at once."""

    channel = HiddenField(validators=[AnyOf(CHANNELS, message="Выберите email или SMS.")])
    recipient = StringField(
        # Line breaks reach the e-mail and phone rules, which explain them in their words.
        validators=[
            DataRequired("Заполните поле."),
            SafeText(MAX_INPUT, single_line=False, too_long=TOO_LONG),
        ]
    )
    consent = BooleanField(
        "Друг согласен получить сообщение с приглашением",
        validators=[DataRequired(errors.ConsentMissing.message)],
    )

    def validate_recipient(self, field: Field) -> None:
        """The same check the service makes, so a wrong number shows beside a missing consent."""
        if self.channel.data not in CHANNELS:
            return
        limits = current_app.extensions["invitations"].limits
        try:
            normalise_recipient(self.channel.data, field.data or "", limits)
        except errors.InvitationRefusal as refusal:
            raise ValidationError(refusal.message) from None
