from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from cabinet.manage.time_machine import JUMPS


class ClockForm(FlaskForm):  # type: ignore[misc]
    jump = HiddenField(validators=[AnyOf(JUMPS)])
    day = DateField("Дата", validators=[Optional()])


class ApplyForClientForm(FlaskForm):  # type: ignore[misc]
    code = StringField("Код приглашения", validators=[DataRequired("Введите код."), Length(max=64)])
    reason = TextAreaField(
        "Причина", validators=[DataRequired("Укажите причину."), Length(max=500)]
    )


class RevokeForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        "Причина отмены", validators=[DataRequired("Укажите причину."), Length(max=500)]
    )


class RequeueForm(FlaskForm):  # type: ignore[misc]
    """«Отправить снова»: only the CSRF token."""
