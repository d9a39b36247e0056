from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length

from cabinet.invitations.rules import CHANNELS, MAX_INPUT

TOO_LONG = "Слишком длинное значение."


class InviteForm(FlaskForm):  # type: ignore[misc]
    channel = HiddenField(validators=[AnyOf(CHANNELS, message="Выберите email или SMS.")])
    recipient = StringField(
        validators=[DataRequired("Заполните поле."), Length(max=MAX_INPUT, message=TOO_LONG)]
    )
    consent = BooleanField("Друг согласен получить сообщение с приглашением")
