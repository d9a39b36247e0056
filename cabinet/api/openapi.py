"""The OpenAPI 3.1 document: the schemas generated from the models of cabinet/api/schemas.py,
the paths from OPERATIONS (one row per endpoint), each operation's scope from
tokens.REQUIRED_SCOPE.

tests/api/test_openapi.py checks that the document lists exactly the blueprint's routes and runs
schemathesis against it in-process (answers must match it, invalid input must be refused);
tests/api/test_scopes.py checks the scopes it states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from cabinet.api import schemas, tokens
from cabinet.api.problems import KINDS, PROBLEM_JSON, TYPE_PREFIX
from cabinet.api.schemas import Answer, Request

JSON = "application/json"
REF = "#/components/schemas/{model}"


@dataclass(frozen=True)
class Operation:
    """One endpoint as the document states it. 400, 401 and 403 go with every operation, 415
    and 422 with a body; `errors` adds the others."""

    operation_id: str
    endpoint: str  # the view; its scope is tokens.REQUIRED_SCOPE[endpoint]
    method: Literal["get", "put", "post"]
    path: str  # under /api/v1, parameters in braces
    summary: str
    answer: type[Answer]
    query: type[Request] | None = None
    body: type[Request] | None = None
    errors: tuple[str, ...] = ()
    created: str | None = None  # may create: 201 with Location, described so
    description: str | None = None


OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "getProgram",
        "api.program_terms",
        "get",
        "/program",
        "Условия программы: в силе на момент at и предстоящие",
        schemas.Program,
        query=schemas.AtQuery,
    ),
    Operation(
        "getClient",
        "api.get_client",
        "get",
        "/clients/{client_id}",
        "Клиент",
        schemas.Client,
        errors=("404",),
    ),
    Operation(
        "putClient",
        "api.put_client",
        "put",
        "/clients/{client_id}",
        "Создать или изменить клиента (идемпотентно)",
        schemas.Client,
        body=schemas.ClientInput,
        errors=("409",),
        created="Клиент создан",
        description="Тело — клиент целиком: отсутствующие необязательные поля становятся null "
        "(status — active). Закрыть договор — status: closed.",
    ),
    Operation(
        "getDiscount",
        "api.discount",
        "get",
        "/clients/{client_id}/discount",
        "Скидка в силе на момент at",
        schemas.Discount,
        query=schemas.AtQuery,
        errors=("404",),
    ),
    Operation(
        "previewInvoice",
        "api.invoice",
        "post",
        "/clients/{client_id}/invoice-preview",
        "Строки счета со скидкой (пакеты SMS — без скидки)",
        schemas.Invoice,
        body=schemas.InvoiceRequest,
        errors=("404",),
    ),
    Operation(
        "listEvents",
        "api.events",
        "get",
        "/events",
        "События после курсора, в порядке фиксации",
        schemas.EventPage,
        query=schemas.EventsQuery,
    ),
)


class ProblemError(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pointer: str = ""  # a JSON Pointer into the body: /lines/0/amount
    parameter: str = ""  # or a parameter of the path or query: at
    detail: str


class Problem(BaseModel):
    """RFC 9457 problem details; detail — по-русски."""

    model_config = ConfigDict(extra="forbid")
    type: str = Field(json_schema_extra={"enum": [TYPE_PREFIX + kind.slug for kind in KINDS]})
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    instance: str
    errors: list[ProblemError] = []


class _Schemas(GenerateJsonSchema):
    """No titles on fields, and no `null` default (an absent parameter is not null)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def default_schema(self, schema: Any) -> Any:
        result = super().default_schema(schema)
        if result.get("default", 0) is None:
            result.pop("default")
        return result


def _problem(description: str, challenge: bool = False) -> dict[str, Any]:
    header = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": REF.format(model="Problem")}}},
        **({"headers": header} if challenge else {}),
    }


RESPONSES: dict[str, Any] = {
    "400": _problem("Неверные параметры пути или запроса, или тело — не JSON"),
    "401": _problem("Нет токена, или он неверен или отозван", challenge=True),
    "403": _problem(
        "У токена нет права, нужного операции (security этой операции называет его)",
        challenge=True,
    ),
    "404": _problem("Клиент не найден"),
    "409": _problem("E-mail уже указан у другого клиента"),
    "415": _problem("Тело запроса не в JSON"),
    "422": _problem("Данные не прошли проверку (errors — по полям)"),
}
CLIENT_ID = {
    "name": "client_id",
    "in": "path",
    "required": True,
    "description": "ID клиента у оператора",
    "schema": {"type": "integer", "minimum": 1, "maximum": schemas.MAX_ID},
    "example": 400,
}


def _content(model: type[BaseModel]) -> dict[str, Any]:
    return {JSON: {"schema": {"$ref": REF.format(model=model.__name__)}}}


def _query(model: type[Request]) -> list[dict[str, Any]]:
    """A query model's fields as optional query parameters."""
    properties = model.model_json_schema(schema_generator=_Schemas)["properties"]
    return [
        {"name": name, "in": "query", "required": False}
        | ({"description": s.pop("description")} if "description" in s else {})
        | {"schema": s}
        for name, s in properties.items()
    ]


def _operation(op: Operation) -> dict[str, Any]:
    ok = {"description": op.summary, "content": _content(op.answer)}
    answers = {"200": ok}
    if op.created:
        location = {"Location": {"required": True, "schema": {"type": "string"}}}
        answers["201"] = ok | {"description": op.created, "headers": location}
    errors = ("400", "401", "403", *op.errors, *(("415", "422") if op.body else ()))
    spec: dict[str, Any] = {"operationId": op.operation_id, "summary": op.summary}
    if op.description:
        spec["description"] = op.description
    if op.query:
        spec["parameters"] = _query(op.query)
    if op.body:
        spec["requestBody"] = {"required": True, "content": _content(op.body)}
    spec["security"] = [{"bearerAuth": [tokens.REQUIRED_SCOPE[op.endpoint]]}]
    refs = {code: {"$ref": f"#/components/responses/{code}"} for code in errors}
    spec["responses"] = dict(sorted((answers | refs).items()))
    return spec


def document() -> dict[str, Any]:
    """The document, generated anew (it is small: a few milliseconds)."""
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [(Problem, "validation")]
    for op in OPERATIONS:
        models.append((op.answer, "serialization"))
        if op.body:
            models.append((op.body, "validation"))
    _, generated = models_json_schema(models, ref_template=REF, schema_generator=_Schemas)
    paths: dict[str, Any] = {
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
        }
    }
    for op in OPERATIONS:
        item = paths.setdefault(op.path, {})
        if "{client_id}" in op.path:
            item["parameters"] = [CLIENT_ID]
        item[op.method] = _operation(op)
    scopes = "; ".join(f"«{s}» — {tokens.SCOPE_DESCRIPTIONS[s]}" for s in tokens.SCOPES)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Кабинет «Корпоративная АТС»: API для систем оператора",
            "version": "1.0.0",
            "description": "Подключение клиентов, скидка реферальной программы для биллинга, "
            "предпросмотр счета и лента событий. Подробно — docs/api.md.",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Токен из «flask api-tokens create ИМЯ --scope …». Права "
                    f"(scopes) токена: {scopes}. Операция называет нужное право в своем "
                    "security; без него — 403.",
                }
            },
            "schemas": generated["$defs"],
            "responses": RESPONSES,
        },
    }
