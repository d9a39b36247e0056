"""The OpenAPI 3.1 document, built from the same constants the input checks use.

`tests/api/test_schemathesis.py` runs schemathesis against it in-process (responses must match
it, invalid input must be refused), and `tests/api/test_contract.py` checks that every route of
the blueprint is in it and nothing else is."""

from __future__ import annotations

from typing import Any

from cabinet.api import inputs, tokens
from cabinet.api.problems import KINDS, PROBLEM_JSON, TYPE_PREFIX
from cabinet.billing.rules import EXCLUDED_KINDS, LINE_KINDS, ROUNDING
from cabinet.clients.models import CLIENT_STATUSES
from cabinet.events.models import EVENT_KINDS
from cabinet.referrals.rules import GRANT_REASONS, MAX_CLAWBACK_DAYS, REWARD_ON

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


def _closed(properties: dict[str, Any], required: tuple[str, ...] | None = None) -> dict[str, Any]:
    """An object with exactly these properties (all required unless `required` says)."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": False,
    }


MOMENT = {
    "type": "string",
    "pattern": f"^{inputs.MOMENT_PATTERN}$",
    "description": "ISO 8601; без смещения — в часовом поясе кабинета (CABINET_TIMEZONE).",
    "examples": ["2023-03-31T15:18:00+03:00", "2023-03-31T15:18"],
}
MOMENT_OUT = {
    "type": "string",
    "format": "date-time",
    "description": "ISO 8601 со смещением часового пояса кабинета.",
}
DAY = {"type": "string", "format": "date", "pattern": f"^{inputs.DATE_PATTERN}$"}
KOPECKS = {"type": "integer", "minimum": 0, "description": "Копейки."}
PERCENT_MAX = 100  # a percent of a price, whatever the terms
PERCENT = {"type": "integer", "minimum": 0, "maximum": PERCENT_MAX}


def _schemas() -> dict[str, Any]:
    grant = _closed(
        {
            "id": {"type": "integer"},
            "percent": {"type": "integer", "minimum": 1, "maximum": PERCENT_MAX},
            "starts_at": MOMENT_OUT,
            "ends_at": MOMENT_OUT,
            "reason": {"enum": list(GRANT_REASONS)},
            "level": _nullable({"type": "integer", "minimum": 1}),
            "terms_version": {
                "type": "integer",
                "minimum": 1,
                "description": "Версия условий программы, по которой выдана скидка.",
            },
        }
    )
    terms = _closed(
        {
            "version": {"type": "integer", "minimum": 1},
            "title": {"type": "string"},
            "effective_from": MOMENT_OUT,
            "ends_at": _nullable(
                MOMENT_OUT | {"description": "Конец акции: дальше — прежние условия."}
            ),
            "referee": _closed(
                {
                    "percent": {"type": "integer", "minimum": 1, "maximum": 100},
                    "months": {"type": "integer", "minimum": 1},
                }
            ),
            "apply_window_months": {"type": "integer", "minimum": 1},
            "max_discount_percent": {"type": "integer", "minimum": 1, "maximum": 100},
            "reward_on": {
                "enum": list(REWARD_ON),
                "description": (
                    "Когда начисляется награда пригласившему: при активации кода или после "
                    "первой оплаты приглашенного после его промо-периода."
                ),
            },
            "clawback_days": {
                "type": "integer",
                "minimum": 0,
                "maximum": MAX_CLAWBACK_DAYS,
                "description": (
                    "Закрытие договора приглашенного раньше этого числа дней после начисления "
                    "возвращает награду; 0 — никогда."
                ),
            },
            "ladder": {
                "type": "array",
                "minItems": 1,
                "items": _closed(
                    {
                        "level": {"type": "integer", "minimum": 1},
                        "percent": {"type": "integer", "minimum": 1, "maximum": 100},
                        "months": {"type": "integer", "minimum": 1},
                        "sms_pack": _nullable({"type": "integer", "minimum": 1}),
                    }
                ),
            },
        }
    )
    period_out = _closed(
        {"first_day": DAY, "last_day": DAY, "days": {"type": "integer", "minimum": 1}}
    )
    return {
        "Problem": {
            "type": "object",
            "description": "RFC 9457 problem details; detail — по-русски.",
            "properties": {
                "type": {"enum": [TYPE_PREFIX + kind.slug for kind in KINDS]},
                "title": {"type": "string"},
                "status": {"type": "integer", "minimum": 400, "maximum": 599},
                "detail": {"type": "string"},
                "instance": {"type": "string"},
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "pointer": {"type": "string"},
                            "parameter": {"type": "string"},
                            "detail": {"type": "string"},
                        },
                        "required": ["detail"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["type", "title", "status", "detail", "instance"],
            "additionalProperties": False,
        },
        "ClientInput": _closed(
            {
                "name": {"type": "string", "minLength": 1, "maxLength": inputs.NAME_MAX},
                "registered_at": MOMENT,
                "promo_until": _nullable(MOMENT),
                "email": _nullable({"type": "string", "maxLength": inputs.EMAIL_MAX}),
                "phone": _nullable({"type": "string", "maxLength": inputs.PHONE_MAX}),
                "status": {"enum": list(CLIENT_STATUSES), "default": "active"},
            },
            required=("name", "registered_at"),
        ),
        "Client": _closed(
            {
                "id": {"type": "integer", "minimum": 1},
                "name": {"type": "string"},
                "registered_at": MOMENT_OUT,
                "promo_until": _nullable(MOMENT_OUT),
                "email": _nullable({"type": "string"}),
                "phone": _nullable({"type": "string"}),
                "status": {"enum": list(CLIENT_STATUSES)},
                "member": {"type": "boolean"},
            }
        ),
        "PaymentInput": _closed(
            {
                "payment_id": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": inputs.PAYMENT_ID_MAX,
                    "pattern": r"\S",
                    "description": "Id платежа в биллинге; уникален в пределах клиента.",
                },
                "paid_at": MOMENT | {"description": "Когда клиент оплатил (может быть в прошлом)."},
                "amount_kopecks": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": inputs.AMOUNT_MAX,
                    "description": "Сумма, копейки.",
                },
            },
            required=inputs.PAYMENT_FIELDS,
        ),
        "Payment": _closed(
            {
                "client_id": {"type": "integer", "minimum": 1},
                "payment_id": {"type": "string"},
                "paid_at": MOMENT_OUT,
                "amount_kopecks": KOPECKS,
                "received_at": MOMENT_OUT
                | {"description": "Когда кабинет получил платеж в первый раз."},
            }
        ),
        "ClosureInput": _closed({"closed_at": MOMENT}, required=inputs.CLOSURE_FIELDS),
        "Closure": _closed(
            {
                "client_id": {"type": "integer", "minimum": 1},
                "status": {"const": "closed"},
                "closed_at": MOMENT_OUT,
            }
        ),
        "Grant": grant,
        "Terms": terms,
        "Program": _closed(
            {
                "at": MOMENT_OUT,
                "current": _ref("Terms"),
                "then": _nullable(_ref("Terms"))
                | {"description": "Условия после конца текущей акции (null — акции нет)."},
                "upcoming": {"type": "array", "items": _ref("Terms")},
            }
        ),
        "Discount": _closed(
            {
                "client_id": {"type": "integer"},
                "at": MOMENT_OUT,
                "percent": PERCENT,
                "terms_version": {"type": "integer", "minimum": 1},
                "max_percent": {"type": "integer", "minimum": 1, "maximum": 100},
                "grants": {"type": "array", "items": _ref("Grant")},
                "upcoming": {"type": "array", "items": _ref("Grant")},
                "excluded_service_kinds": {
                    "type": "array",
                    "items": {"enum": list(EXCLUDED_KINDS)},
                },
            }
        ),
        "InvoiceRequest": _closed(
            {
                "at": MOMENT,
                "lines": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": inputs.LINES_MAX,
                    "items": _closed(
                        {
                            "kind": {"enum": list(LINE_KINDS)},
                            "amount": {**KOPECKS, "maximum": inputs.AMOUNT_MAX},
                            "description": _nullable(
                                {"type": "string", "maxLength": inputs.DESCRIPTION_MAX}
                            ),
                            "period": _nullable(
                                _closed({"first_day": DAY, "last_day": DAY})
                                | {"description": "Дни first_day…last_day включительно."}
                            ),
                        },
                        required=("kind", "amount"),
                    ),
                },
            },
            required=("lines",),
        ),
        "Invoice": _closed(
            {
                "client_id": {"type": "integer"},
                "at": MOMENT_OUT,
                "currency": {"const": "RUB"},
                "rounding": _closed(
                    {
                        "mode": {"const": ROUNDING},
                        "unit": {"const": "kopeck"},
                        "description": {"type": "string"},
                    }
                ),
                "split": {"type": "string"},
                "excluded_service_kinds": {
                    "type": "array",
                    "items": {"enum": list(EXCLUDED_KINDS)},
                },
                "lines": {
                    "type": "array",
                    "items": _closed(
                        {
                            "kind": {"enum": list(LINE_KINDS)},
                            "description": _nullable({"type": "string"}),
                            "period": _nullable(period_out),
                            "excluded": {"type": "boolean"},
                            "amount": KOPECKS,
                            "discount": KOPECKS,
                            "total": KOPECKS,
                            "segments": {
                                "type": "array",
                                "minItems": 1,
                                "items": _closed(
                                    {
                                        "period": _nullable(period_out),
                                        "percent": PERCENT,
                                        "amount": KOPECKS,
                                        "discount": KOPECKS,
                                        "total": KOPECKS,
                                    }
                                ),
                            },
                        }
                    ),
                },
                "totals": _closed({"amount": KOPECKS, "discount": KOPECKS, "total": KOPECKS}),
            }
        ),
        "Event": _closed(
            {
                "id": {"type": "integer", "minimum": 1},
                "kind": {"enum": list(EVENT_KINDS)},
                "client_id": {"type": "integer"},
                "occurred_at": MOMENT_OUT,
                "data": {"type": "object"},
            }
        ),
        "EventPage": _closed(
            {
                "events": {"type": "array", "items": _ref("Event")},
                "next_after": {"type": "integer", "minimum": 0},
                "has_more": {"type": "boolean"},
            }
        ),
    }


def _problem(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": _ref("Problem")}},
    }
    if headers:
        response["headers"] = headers
    return response


RESPONSES: dict[str, Any] = {
    "400": _problem("Неверные параметры пути или запроса, или тело — не JSON"),
    "401": _problem(
        "Нет токена, или он неверен или отозван",
        {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    ),
    "403": _problem(
        "У токена нет права, нужного операции (security этой операции называет его)",
        {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}},
    ),
    "404": _problem("Клиент не найден"),
    "409": _problem(
        "Конфликт: e-mail у другого клиента; платеж с тем же payment_id, но другими данными; "
        "договор уже закрыт другой датой"
    ),
    "415": _problem("Тело запроса не в JSON"),
    "422": _problem("Данные не прошли проверку (errors — по полям)"),
}


def _responses(ok: dict[str, Any], *errors: str) -> dict[str, Any]:
    """`ok`: a success response (200) or a map of them by status; then the shared errors."""
    success = ok if "description" not in ok else {"200": ok}
    return {**success, **{code: {"$ref": f"#/components/responses/{code}"} for code in errors}}


def _ok(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ref(schema)}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {JSON: {"schema": _ref(schema)}}}


AT = {
    "name": "at",
    "in": "query",
    "required": False,
    "description": "Момент; по умолчанию — сейчас",
    "schema": MOMENT,
}
# A replay of an idempotent request: the same status and body as the first time, and this.
REPLAYED: dict[str, Any] = {
    "headers": {
        "Idempotent-Replayed": {
            "required": False,
            "description": "true: тот же запрос уже был; ничего не изменилось",
            "schema": {"const": "true"},
        }
    }
}
CLIENT_ID = {
    "name": "client_id",
    "in": "path",
    "required": True,
    "description": "ID клиента у оператора",
    "schema": {"type": "integer", "minimum": 1, "maximum": inputs.MAX_ID},
    "example": 400,
}


# The view behind each operation: its scope comes from tokens.REQUIRED_SCOPE, the same map the
# check before every request reads (tests/api/test_scopes.py holds the two to the URL map).
OPERATION_ENDPOINTS: dict[str, str] = {
    "getProgram": "api.program_terms",
    "getClient": "api.get_client",
    "putClient": "api.put_client",
    "getDiscount": "api.discount",
    "previewInvoice": "api.invoice",
    "recordPayment": "api.record_payment",
    "closeContract": "api.close_contract",
    "listEvents": "api.events",
}


def _scoped(paths: dict[str, Any]) -> dict[str, Any]:
    """Each operation with a view states the scope it wants and its 403."""
    for item in paths.values():
        for method, operation in item.items():
            if method == "parameters":
                continue
            endpoint = OPERATION_ENDPOINTS.get(operation["operationId"])
            if endpoint is None:  # the document itself: no token
                continue
            operation["security"] = [{"bearerAuth": [tokens.REQUIRED_SCOPE[endpoint]]}]
            responses = operation["responses"]
            responses["403"] = {"$ref": "#/components/responses/403"}
            operation["responses"] = dict(sorted(responses.items()))
    return paths


def _scheme_description() -> str:
    scopes = "; ".join(f"«{s}» — {tokens.SCOPE_DESCRIPTIONS[s]}" for s in tokens.SCOPES)
    return (
        "Токен из «flask api-tokens create ИМЯ --scope …». Права (scopes) токена: "
        f"{scopes}. Операция называет нужное право в своем security; без него — 403."
    )


def document() -> dict[str, Any]:
    """The document; each operation's scope added from tokens.REQUIRED_SCOPE."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Кабинет «Корпоративная АТС»: API для систем оператора",
            "version": "1.0.0",
            "description": (
                "Подключение клиентов, скидка реферальной программы для биллинга, предпросмотр "
                "счета и лента событий. Подробно — docs/api.md."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "Этот документ",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {JSON: {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
            "/program": {
                "get": {
                    "operationId": "getProgram",
                    "summary": "Условия программы: в силе на момент at и предстоящие",
                    "parameters": [AT],
                    "responses": _responses(
                        _ok("Program", "Версия условий в силе и предстоящие версии"), "400", "401"
                    ),
                }
            },
            "/clients/{client_id}": {
                "parameters": [CLIENT_ID],
                "get": {
                    "operationId": "getClient",
                    "summary": "Клиент",
                    "responses": _responses(_ok("Client", "Клиент"), "400", "401", "404"),
                },
                "put": {
                    "operationId": "putClient",
                    "summary": "Создать или изменить клиента (идемпотентно)",
                    "description": (
                        "Тело — клиент целиком: отсутствующие необязательные поля становятся null "
                        "(status — active). Закрыть договор — status: closed."
                    ),
                    "requestBody": _body("ClientInput"),
                    "responses": _responses(
                        {
                            "200": _ok("Client", "Клиент изменен или уже был таким"),
                            "201": _ok("Client", "Клиент создан")
                            | {
                                "headers": {
                                    "Location": {"required": True, "schema": {"type": "string"}}
                                }
                            },
                        },
                        "400",
                        "401",
                        "409",
                        "415",
                        "422",
                    ),
                },
            },
            "/clients/{client_id}/discount": {
                "parameters": [CLIENT_ID],
                "get": {
                    "operationId": "getDiscount",
                    "summary": "Скидка в силе на момент at",
                    "parameters": [AT],
                    "responses": _responses(
                        _ok("Discount", "Скидка, скидки в силе и исключения"), "400", "401", "404"
                    ),
                },
            },
            "/clients/{client_id}/invoice-preview": {
                "parameters": [CLIENT_ID],
                "post": {
                    "operationId": "previewInvoice",
                    "summary": "Строки счета со скидкой (пакеты SMS — без скидки)",
                    "requestBody": _body("InvoiceRequest"),
                    "responses": _responses(
                        _ok("Invoice", "Строки со скидкой, итоги, правило округления"),
                        "400",
                        "401",
                        "404",
                        "415",
                        "422",
                    ),
                },
            },
            "/clients/{client_id}/payments": {
                "parameters": [CLIENT_ID],
                "post": {
                    "operationId": "recordPayment",
                    "summary": "Платеж клиента от биллинга (идемпотентно по payment_id)",
                    "description": (
                        "Первая оплата приглашенного после промо-периода начисляет награду "
                        "пригласившему, если версия условий этого требует; платеж с paid_at в "
                        "прошлом пересчитывает лестницу на тот момент. Тот же payment_id с теми же "
                        "данными — тот же ответ, ничего не меняется; с другими — 409."
                    ),
                    "requestBody": _body("PaymentInput"),
                    "responses": _responses(
                        {"201": _ok("Payment", "Платеж записан (или уже был записан)") | REPLAYED},
                        "400",
                        "401",
                        "404",
                        "409",
                        "415",
                        "422",
                    ),
                },
            },
            "/clients/{client_id}/closure": {
                "parameters": [CLIENT_ID],
                "post": {
                    "operationId": "closeContract",
                    "summary": "Закрытие договора клиента (идемпотентно)",
                    "description": (
                        "Статус клиента — closed. Закрытие раньше срока возврата после начисления "
                        "награды возвращает ее. Та же дата еще раз — тот же ответ; другая — 409."
                    ),
                    "requestBody": _body("ClosureInput"),
                    "responses": _responses(
                        {"200": _ok("Closure", "Договор закрыт (или уже был закрыт)") | REPLAYED},
                        "400",
                        "401",
                        "404",
                        "409",
                        "415",
                        "422",
                    ),
                },
            },
            "/events": {
                "get": {
                    "operationId": "listEvents",
                    "summary": "События после курсора, в порядке фиксации",
                    "parameters": [
                        {
                            "name": "after",
                            "in": "query",
                            "required": False,
                            "description": "id последнего обработанного события (0 — с начала)",
                            "schema": {
                                "type": "integer",
                                "minimum": 0,
                                "maximum": inputs.MAX_ID,
                                "default": 0,
                            },
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": inputs.EVENTS_LIMIT_MAX,
                                "default": inputs.EVENTS_LIMIT_DEFAULT,
                            },
                        },
                    ],
                    "responses": _responses(_ok("EventPage", "Страница событий"), "400", "401"),
                }
            },
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": _scheme_description(),
                }
            },
            "schemas": _schemas(),
            "responses": RESPONSES,
        },
    }
    _scoped(doc["paths"])
    return doc
