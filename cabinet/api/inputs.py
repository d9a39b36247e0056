"""Reading what a calling system sent: the body as a JSON object (else 415 or 400), then a
model of cabinet/api/schemas.py. Every bad field is reported at once, in Russian, with a JSON
Pointer to it (a query's with the parameter's name)."""

from __future__ import annotations

import json
from datetime import tzinfo
from typing import Annotated, Any, TypeVar

from flask import request
from pydantic import TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from cabinet import inputs as safe
from cabinet.api.problems import (
    INVALID_PARAMETERS,
    MALFORMED_JSON,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_FAILED,
    ApiProblem,
    FieldError,
)
from cabinet.api.schemas import MAX_ID, Between, Request

R = TypeVar("R", bound=Request)

# The detail of each error pydantic itself raises; the models' own (type "cabinet") carry theirs.
DETAILS = {
    "missing": "обязательное поле",
    "extra_forbidden": "неизвестное поле",
    "string_type": "нужна строка",
    "string_too_short": "не может быть пустым",
    "string_too_long": "не длиннее {max_length} символов",
    "int_type": "нужно целое число",
    "model_type": "нужен объект",
}
_CLIENT_ID: TypeAdapter[int] = TypeAdapter(Annotated[int, Between(1, MAX_ID, text=True)])


def _detail(error: ErrorDetails) -> str:
    if error["type"] != "missing" and error.get("input", ...) is None:
        return "не может быть null"
    if error["type"] == "cabinet":
        return error["msg"]
    return DETAILS.get(error["type"], "неверное значение").format(**error.get("ctx", {}))


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _invalid(errors: list[FieldError]) -> ApiProblem:
    listed = "; ".join(f"{e.pointer or 'тело запроса'} — {e.detail}" for e in errors)
    return ApiProblem(
        VALIDATION_FAILED, f"Данные не прошли проверку: {listed}.", errors=tuple(errors)
    )


def body(model: type[R], zone: tzinfo) -> R:
    """The body as `model`: 415 without a JSON content type, 400 if it is not JSON, 422 with
    every bad field otherwise."""
    if not request.is_json:
        raise ApiProblem(
            UNSUPPORTED_MEDIA_TYPE,
            "Отправьте тело запроса в формате JSON с заголовком Content-Type: application/json.",
        )
    try:
        value = json.loads(request.get_data(cache=True), parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ApiProblem(MALFORMED_JSON, "Тело запроса не разобрано как JSON.") from exc
    if not isinstance(value, dict):
        raise _invalid([FieldError("Тело запроса — объект JSON.", pointer="")])
    # NUL, control characters, line breaks and lone surrogates are refused in every string
    # (keys too) before any field is read: they can be neither stored nor put in a header.
    unsafe = [
        FieldError(found[-1], pointer=_pointer(*found[:-1])) for found in safe.unsafe_strings(value)
    ]
    if unsafe:
        raise _invalid(unsafe)
    try:
        return model.model_validate(value, context={"zone": zone})
    except ValidationError as error:
        raise _invalid(
            [FieldError(_detail(e), _pointer(*e["loc"])) for e in error.errors()]
        ) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def query(model: type[R], zone: tzinfo) -> R:
    """The query parameters `model` names (others are ignored) as `model`; 400 if bad."""
    raw = {name: request.args[name] for name in model.model_fields if name in request.args}
    try:
        return model.model_validate(raw, context={"zone": zone})
    except ValidationError as error:
        bad = [FieldError(_detail(e), parameter=str(e["loc"][0])) for e in error.errors()]
        listed = "; ".join(f"Параметр {e.parameter}: {e.detail}" for e in bad)
        raise ApiProblem(INVALID_PARAMETERS, listed + ".", errors=tuple(bad)) from None


def client_id(raw: str) -> int:
    """The `{id}` of a path: 1 … 2147483647."""
    try:
        return _CLIENT_ID.validate_python(raw)
    except ValidationError:
        raise ApiProblem(
            INVALID_PARAMETERS,
            f"ID клиента в пути — целое число от 1 до {MAX_ID}.",
            errors=(FieldError(f"целое число от 1 до {MAX_ID}", parameter="id"),),
        ) from None
