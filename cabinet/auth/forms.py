from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from cabinet.validators import SafeText


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField("Email", validators=[DataRequired("Введите email."), SafeText(254)])
    password = PasswordField(
        "Пароль", validators=[DataRequired("Введите пароль."), SafeText(200, single_line=False)]
    )
