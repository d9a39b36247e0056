from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired

from cabinet.invitations.rules import CHANNELS, MAX_INPUT
from cabinet.validators import SafeText

TOO_LONG = "Слишком длинное значение."


class InviteForm(FlaskForm):  # type: ignore[misc]
    channel = HiddenField(validators=[AnyOf(CHANNELS, message="Выберите email или SMS.")])
    recipient = StringField(
        # Line breaks reach the e-mail and phone rules, which explain them in their words.
        validators=[
            DataRequired("Заполните поле."),
            SafeText(MAX_INPUT, single_line=False, too_long=TOO_LONG),
        ]
    )
    consent = BooleanField("Друг согласен получить сообщение с приглашением")
