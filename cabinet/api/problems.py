"""Errors as problem details (RFC 9457): `application/problem+json`, `detail` in Russian.

Every problem has a `type` (a URN naming the kind of problem, listed in docs/api.md), a short
`title`, the HTTP `status`, a `detail` for a person and the `instance` (the request's path);
validation problems add `errors`: one entry per bad field, with a JSON Pointer to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Response, json, request

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:cabinet:problem:"


@dataclass(frozen=True)
class Kind:
    slug: str
    status: int
    title: str


UNAUTHORIZED = Kind("unauthorized", 401, "Нужен действующий токен доступа")
INSUFFICIENT_SCOPE = Kind("insufficient-scope", 403, "У токена нет нужного права")
MALFORMED_JSON = Kind("malformed-json", 400, "Тело запроса — не JSON")
INVALID_PARAMETERS = Kind("invalid-parameters", 400, "Неверные параметры запроса")
NOT_FOUND = Kind("not-found", 404, "Не найдено")
CLIENT_NOT_FOUND = Kind("client-not-found", 404, "Клиент не найден")
METHOD_NOT_ALLOWED = Kind("method-not-allowed", 405, "Метод не поддерживается")
CONFLICT = Kind("conflict", 409, "Конфликт с данными другого клиента")
PAYMENT_CONFLICT = Kind("payment-conflict", 409, "Платеж с этим id уже получен с другими данными")
CLOSURE_CONFLICT = Kind("closure-conflict", 409, "Договор уже закрыт другой датой")
UNSUPPORTED_MEDIA_TYPE = Kind("unsupported-media-type", 415, "Нужен JSON")
VALIDATION_FAILED = Kind("validation-failed", 422, "Данные не прошли проверку")
HTTP_ERROR = Kind("http-error", 400, "Запрос не выполнен")
INTERNAL_ERROR = Kind("internal-error", 500, "Внутренняя ошибка")
SERVICE_UNAVAILABLE = Kind("service-unavailable", 503, "Сервис временно недоступен")

KINDS: tuple[Kind, ...] = (
    UNAUTHORIZED,
    INSUFFICIENT_SCOPE,
    MALFORMED_JSON,
    INVALID_PARAMETERS,
    NOT_FOUND,
    CLIENT_NOT_FOUND,
    METHOD_NOT_ALLOWED,
    CONFLICT,
    PAYMENT_CONFLICT,
    CLOSURE_CONFLICT,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_FAILED,
    HTTP_ERROR,
    INTERNAL_ERROR,
    SERVICE_UNAVAILABLE,
)


@dataclass(frozen=True)
class FieldError:
    """One bad input: a JSON Pointer into the body (`/lines/0/amount`) or a query parameter."""

    detail: str
    pointer: str | None = None
    parameter: str | None = None

    def as_json(self) -> dict[str, str]:
        where = {"pointer": self.pointer} if self.pointer is not None else {}
        if self.parameter is not None:
            where["parameter"] = self.parameter
        return {**where, "detail": self.detail}


class ApiProblem(Exception):
    """Raised by views and input parsing; the blueprint turns it into the response."""

    def __init__(
        self,
        kind: Kind,
        detail: str,
        *,
        errors: tuple[FieldError, ...] = (),
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.errors = errors
        self.status = status or kind.status
        self.headers = headers or {}


def response(problem: ApiProblem) -> Response:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + problem.kind.slug,
        "title": problem.kind.title,
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
    }
    if problem.errors:
        body["errors"] = [e.as_json() for e in problem.errors]
    result = Response(
        json.dumps(body, ensure_ascii=False), status=problem.status, mimetype=PROBLEM_JSON
    )
    result.headers.update(problem.headers)
    result.headers["Cache-Control"] = "no-store"
    return result
