from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from cabinet.demo.time_machine import JUMPS
from cabinet.moments import YEAR_MAX, YEAR_MIN
from cabinet.validators import SafeText
from cabinet.webhooks.rules import MAX_NOTE, MAX_URL


def _year_in_bounds(form: Any, field: Any) -> None:
    """Like every moment a person types (cabinet/moments.py): month arithmetic stays in range."""
    if field.data is not None and not YEAR_MIN <= field.data.year <= YEAR_MAX:
        raise ValidationError(f"Дата — с {YEAR_MIN} по {YEAR_MAX} год.")


class ClockForm(FlaskForm):  # type: ignore[misc]
    jump = HiddenField(validators=[AnyOf(JUMPS)])
    # Typed as the cabinet shows dates (ДД.ММ.ГГГГ), not in the browser's locale; ISO accepted.
    day = DateField(
        "Дата", format=["%d.%m.%Y", "%Y-%m-%d"], validators=[Optional(), _year_in_bounds]
    )


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


class WebhookForm(FlaskForm):  # type: ignore[misc]
    url = StringField("Адрес (URL)", validators=[DataRequired("Укажите адрес."), SafeText(MAX_URL)])
    note = StringField("Описание", validators=[Optional(), SafeText(MAX_NOTE)])


class ReplayForm(FlaskForm):  # type: ignore[misc]
    from_event = IntegerField(
        "С события №",
        validators=[
            InputRequired("Укажите номер события."),
            NumberRange(1, 2_147_483_647, "Номер события — целое число от 1."),
        ],
    )


class RemoveWebhookForm(FlaskForm):  # type: ignore[misc]
    """«Удалить подписчика»: only the CSRF token."""
