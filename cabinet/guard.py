"""The cabinet's outer wall, for every route at once: numbers in URLs, characters in input,
body size, a database that does not answer, and the secrets and storage production needs.

Kept apart from the views so a new route is covered without anyone remembering to."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, request
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import BadRequest
from werkzeug.routing import IntegerConverter

from cabinet import config, inputs

# A database that cannot be reached, refuses connections, or does not answer in time.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
DATABASE_RETRY_AFTER_SECONDS = 30
HSTS = "max-age=63072000; includeSubDomains"
MIN_SECRET_LENGTH = 32


class InsecureConfiguration(RuntimeError):
    pass


class UnsafeInput(BadRequest):
    """A query parameter or form value with characters the cabinet never accepts."""

    description = (
        "В запросе есть недопустимые символы (управляющие или непарные суррогаты). "
        "Исправьте введенные данные и повторите."
    )


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: 1 … 2³¹−1, the range of the id columns. A bigger number
    names no row, so it is a 404 instead of an overflow in the database."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", inputs.MAX_ID)
        super().__init__(map, *args, **kwargs)


def install_converters(app: Flask) -> None:
    """Before any blueprint is registered: its rules are compiled with these converters."""
    app.url_map.converters["int"] = IdConverter


def init_app(app: Flask) -> None:
    # Flask's defaults are "no limit" (None) and 500 KB per form field: both ours instead.
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_CONTENT_LENGTH"] or inputs.MAX_CONTENT_LENGTH
    app.config["MAX_FORM_MEMORY_SIZE"] = min(
        app.config.get("MAX_FORM_MEMORY_SIZE") or inputs.MAX_CONTENT_LENGTH,
        inputs.MAX_CONTENT_LENGTH,
    )
    app.config["MAX_FORM_PARTS"] = min(app.config.get("MAX_FORM_PARTS") or 100, 100)
    app.before_request(_refuse_unsafe_input)


def _refuse_unsafe_input() -> None:
    """Every query parameter and form field, before any view or CSRF check reads them."""
    for source in (request.args, request.form):
        for key, values in source.lists():
            if inputs.text_problem(key) is not None:
                raise UnsafeInput()
            for value in values:
                if inputs.text_problem(value, single_line=False) is not None:
                    raise UnsafeInput()


def database_is_down(error: BaseException) -> bool:
    return isinstance(error, DATABASE_DOWN)


def mark_database_down() -> None:
    """The error page must not touch the database again: sign the request out for the rest of
    it (Flask-Login loads the user lazily) and tell the templates."""
    from flask_login import AnonymousUserMixin

    g._login_user = AnonymousUserMixin()
    g.database_down = True


def settle_secret_key(app: Flask) -> None:
    """Production: a real secret or no start. Development without one: a random key kept in
    the instance folder, made on first start (never a value anyone else knows)."""
    secret = str(app.config.get("SECRET_KEY") or "")
    if app.config["CABINET_ENV"] == "production":
        if secret == config.DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH:
            raise InsecureConfiguration(
                "В production нужен собственный SECRET_KEY (не короче 32 символов): "
                "задайте его в переменной окружения SECRET_KEY."
            )
        return
    if not secret or secret == config.DEFAULT_SECRET_KEY:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path))


# Keys of their own, besides SECRET_KEY: production refuses a short one, the published
# development key, or SECRET_KEY itself (one leaked key must not open everything).
OWN_KEYS = ("GATEWAY_CALLBACK_SECRET", "CONTACT_HASH_KEY")


def refuse_development_keys(app: Flask) -> None:
    if app.config["CABINET_ENV"] != "production":
        return
    for name in OWN_KEYS:
        value = str(app.config.get(name) or "")
        if not value:
            continue  # off: the feature that needs it refuses its requests
        if (
            len(value) < MIN_SECRET_LENGTH
            or value == config.DEFAULT_SECRET_KEY
            or value == app.config.get("SECRET_KEY")
        ):
            raise InsecureConfiguration(
                f"В production {name} — собственный ключ не короче {MIN_SECRET_LENGTH} "
                "символов, не ключ разработки и не SECRET_KEY."
            )


def _instance_secret(folder: Path) -> str:
    path = folder / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    folder.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use that one
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def refuse_unshared_limits(app: Flask) -> None:
    """Production counts limits in Redis: in memory, each worker would count on its own."""
    from cabinet.limits import uses_shared_storage

    if app.config["CABINET_ENV"] == "production" and not uses_shared_storage(
        str(app.config["RATELIMIT_STORAGE_URI"])
    ):
        raise InsecureConfiguration(
            "В production счетчики ограничений хранятся в Redis: задайте "
            "RATELIMIT_STORAGE_URI=redis://… (в памяти каждый процесс считал бы отдельно)."
        )
