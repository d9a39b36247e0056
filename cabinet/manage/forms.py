from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Optional

from cabinet.demo.time_machine import JUMPS
from cabinet.validators import SafeText


class ClockForm(FlaskForm):  # type: ignore[misc]
    jump = HiddenField(validators=[AnyOf(JUMPS)])
    # Typed as the cabinet shows dates (ДД.ММ.ГГГГ), not in the browser's locale; ISO accepted.
    day = DateField("Дата", format=["%d.%m.%Y", "%Y-%m-%d"], validators=[Optional()])


class ApplyForClientForm(FlaskForm):  # type: ignore[misc]
    code = StringField("Код приглашения", validators=[DataRequired("Введите код."), SafeText(64)])
    reason = TextAreaField(
        "Причина", validators=[DataRequired("Укажите причину."), SafeText(500, single_line=False)]
    )


class RevokeForm(FlaskForm):  # type: ignore[misc]
    reason = TextAreaField(
        "Причина отмены",
        validators=[DataRequired("Укажите причину."), SafeText(500, single_line=False)],
    )


class RequeueForm(FlaskForm):  # type: ignore[misc]
    """«Отправить снова»: only the CSRF token."""
