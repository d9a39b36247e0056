from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from cabinet.validators import SafeText


class ApplyCodeForm(FlaskForm):  # type: ignore[misc]
    code = StringField(
        "Код приглашения",
        validators=[
            DataRequired("Введите код приглашения."),
            SafeText(64, too_long="Слишком длинный код."),
        ],
    )


class JoinForm(FlaskForm):  # type: ignore[misc]
    """«У меня нет кода»: only the CSRF token."""
