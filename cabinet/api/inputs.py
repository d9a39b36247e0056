"""Reading what a calling system sent: checked against the same limits the OpenAPI document
states (cabinet/api/openapi.py builds its schemas from the constants here), every problem
collected and reported at once, in Russian."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any, cast

from flask import request

from cabinet import inputs as safe
from cabinet.api.problems import (
    INVALID_PARAMETERS,
    MALFORMED_JSON,
    UNSUPPORTED_MEDIA_TYPE,
    VALIDATION_FAILED,
    ApiProblem,
    FieldError,
)
from cabinet.billing.rules import LINE_KINDS, Line, LineKind, Period
from cabinet.clients.models import CLIENT_STATUSES, MAX_PAYMENT_ID
from cabinet.clients.services import NewClient
from cabinet.moments import YEAR_MAX, YEAR_MIN, in_bounds

MAX_ID = safe.MAX_ID  # the columns are 32-bit integers
NAME_MAX = 200
EMAIL_MAX = 254
PHONE_MAX = 32
DESCRIPTION_MAX = 200
AMOUNT_MAX = 1_000_000_000_000  # kopecks: 10 billion roubles per line
LINES_MAX = 100
PERIOD_DAYS_MAX = 366
EVENTS_LIMIT_MAX = 500
EVENTS_LIMIT_DEFAULT = 100

DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
MOMENT_PATTERN = (
    DATE_PATTERN + r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
PAYMENT_ID_MAX = MAX_PAYMENT_ID
CLIENT_FIELDS = ("name", "registered_at", "promo_until", "email", "phone", "status")
PAYMENT_FIELDS = ("payment_id", "paid_at", "amount_kopecks")
CLOSURE_FIELDS = ("closed_at",)
INVOICE_FIELDS = ("at", "lines")
LINE_FIELDS = ("kind", "amount", "description", "period")
PERIOD_FIELDS = ("first_day", "last_day")

_MOMENT = re.compile(MOMENT_PATTERN)
_DATE = re.compile(DATE_PATTERN)
_DIGITS = re.compile(r"[0-9]{1,10}")

MOMENT_HINT = "момент ISO 8601, например 2023-03-31T15:18 или 2023-03-31T15:18:00+03:00"


# ---- the request as a whole ----------------------------------------------------------------


def body_object() -> dict[str, Any]:
    """The JSON object in the body; 415 without a JSON content type, 400 if it is not JSON."""
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
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def client_id(raw: str) -> int:
    """The `{id}` of a path: 1 … 2147483647."""
    if _DIGITS.fullmatch(raw) and 1 <= int(raw) <= MAX_ID:
        return int(raw)
    raise ApiProblem(
        INVALID_PARAMETERS,
        f"ID клиента в пути — целое число от 1 до {MAX_ID}.",
        errors=(FieldError(f"целое число от 1 до {MAX_ID}", parameter="id"),),
    )


def query_moment(name: str, zone: tzinfo) -> datetime | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    moment = parse_moment(raw, zone)
    if moment is None:
        raise _bad_query(name, f"нужен {MOMENT_HINT}")
    return moment


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if _DIGITS.fullmatch(raw) and low <= int(raw) <= high:
        return int(raw)
    raise _bad_query(name, f"целое число от {low} до {high}")


def _bad_query(name: str, detail: str) -> ApiProblem:
    return ApiProblem(
        INVALID_PARAMETERS,
        f"Параметр {name}: {detail}.",
        errors=(FieldError(detail, parameter=name),),
    )


def _invalid(errors: list[FieldError]) -> ApiProblem:
    listed = "; ".join(f"{e.pointer or 'тело запроса'} — {e.detail}" for e in errors)
    return ApiProblem(
        VALIDATION_FAILED, f"Данные не прошли проверку: {listed}.", errors=tuple(errors)
    )


# ---- values --------------------------------------------------------------------------------


def parse_moment(raw: str, zone: tzinfo) -> datetime | None:
    """ISO 8601 (without an offset: in `zone`), aware UTC; None when it is not one we take."""
    if not _MOMENT.fullmatch(raw):
        return None
    try:
        moment = datetime.fromisoformat(raw)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        if not in_bounds(moment):  # the year as typed, and in UTC
            return None
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def parse_day(raw: str) -> date | None:
    if not _DATE.fullmatch(raw):
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return None
    return day if YEAR_MIN <= day.year <= YEAR_MAX else None


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Reader:
    """Reads one JSON object's fields, collecting errors under `base`."""

    def __init__(self, data: Mapping[str, Any], errors: list[FieldError], *base: str | int):
        self.data = data
        self.errors = errors
        self.base = base

    def fail(self, field: str, detail: str) -> None:
        self.errors.append(FieldError(detail, pointer=_pointer(*self.base, field)))

    def only(self, allowed: tuple[str, ...]) -> None:
        for field in sorted(set(self.data) - set(allowed)):
            self.fail(field, "неизвестное поле")

    def value(self, field: str, *, required: bool, nullable: bool) -> tuple[bool, Any]:
        """(present, value); a missing required field or a forbidden null is reported."""
        if field not in self.data:
            if required:
                self.fail(field, "обязательное поле")
            return False, None
        value = self.data[field]
        if value is None and not nullable:
            self.fail(field, "не может быть null")
            return False, None
        return True, value

    def string(
        self, field: str, max_length: int, *, required: bool = False, nullable: bool = False
    ) -> str | None:
        present, value = self.value(field, required=required, nullable=nullable)
        if not present or value is None:
            return None
        if not isinstance(value, str):
            self.fail(field, "нужна строка")
            return None
        if len(value) > max_length:
            self.fail(field, f"не длиннее {max_length} символов")
            return None
        return value

    def parsed(
        self,
        field: str,
        parse: Callable[[str], Any],
        hint: str,
        *,
        required: bool = False,
        nullable: bool = False,
    ) -> Any:
        raw = self.string(field, 40, required=required, nullable=nullable)
        if raw is None:
            return None
        value = parse(raw)
        if value is None:
            self.fail(field, hint)
        return value

    def integer(self, field: str, low: int, high: int) -> int | None:
        present, value = self.value(field, required=True, nullable=False)
        if not present:
            return None
        if type(value) is not int:  # bool is an int in Python, not in JSON
            self.fail(field, "нужно целое число")
            return None
        if not low <= value <= high:
            self.fail(field, f"от {low} до {high}")
            return None
        return value

    def choice(self, field: str, options: tuple[str, ...], default: str | None) -> str | None:
        present, value = self.value(field, required=default is None, nullable=False)
        if not present:
            return default
        if value not in options:
            self.fail(field, "одно из значений: " + ", ".join(options))
            return None
        return cast(str, value)


# ---- bodies --------------------------------------------------------------------------------


def client_body(body: Mapping[str, Any], client_id: int, zone: tzinfo) -> NewClient:
    """PUT /clients/{id}: the whole client as it should be (absent optional fields: null)."""
    errors: list[FieldError] = []
    read = _Reader(body, errors)
    read.only(CLIENT_FIELDS)
    name = read.string("name", NAME_MAX, required=True)
    if name is not None and not name.strip():
        read.fail("name", "не может быть пустым")
    hint = f"нужен {MOMENT_HINT}"
    registered_at = read.parsed(
        "registered_at", lambda raw: parse_moment(raw, zone), hint, required=True
    )
    promo_until = read.parsed(
        "promo_until", lambda raw: parse_moment(raw, zone), hint, nullable=True
    )
    email = read.string("email", EMAIL_MAX, nullable=True)
    phone = read.string("phone", PHONE_MAX, nullable=True)
    status = read.choice("status", CLIENT_STATUSES, "active")
    if errors:
        raise _invalid(errors)
    assert name is not None and registered_at is not None and status is not None  # noqa: S101
    return NewClient(
        id=client_id,
        name=name,
        registered_at=registered_at,
        promo_until=promo_until,
        email=email,
        phone=(phone.strip() or None) if phone is not None else None,
        status=status,
    )


@dataclass(frozen=True)
class InvoiceRequest:
    at: datetime | None
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class PaymentRequest:
    payment_id: str
    paid_at: datetime
    amount_kopecks: int


def payment_body(body: Mapping[str, Any], zone: tzinfo) -> PaymentRequest:
    """`{"payment_id", "paid_at", "amount_kopecks"}`: billing's id (1…64 characters), when the
    client paid, how much (kopecks, at least 1)."""
    errors: list[FieldError] = []
    read = _Reader(body, errors)
    read.only(PAYMENT_FIELDS)
    payment_id = read.string("payment_id", PAYMENT_ID_MAX, required=True)
    if payment_id is not None and not payment_id.strip():
        read.fail("payment_id", "не может быть пустым")
    paid_at = read.parsed(
        "paid_at", lambda raw: parse_moment(raw, zone), f"нужен {MOMENT_HINT}", required=True
    )
    amount = read.integer("amount_kopecks", 1, AMOUNT_MAX)
    if errors or payment_id is None or paid_at is None or amount is None:
        raise _invalid(errors)
    return PaymentRequest(payment_id, paid_at, amount)


def closure_body(body: Mapping[str, Any], zone: tzinfo) -> datetime:
    """`{"closed_at"}`: when the client's contract closed."""
    errors: list[FieldError] = []
    read = _Reader(body, errors)
    read.only(CLOSURE_FIELDS)
    closed_at = read.parsed(
        "closed_at", lambda raw: parse_moment(raw, zone), f"нужен {MOMENT_HINT}", required=True
    )
    if errors or closed_at is None:
        raise _invalid(errors)
    moment: datetime = closed_at
    return moment


def invoice_body(body: Mapping[str, Any], zone: tzinfo) -> InvoiceRequest:
    """POST /clients/{id}/invoice-preview."""
    errors: list[FieldError] = []
    read = _Reader(body, errors)
    read.only(INVOICE_FIELDS)
    at = read.parsed("at", lambda raw: parse_moment(raw, zone), f"нужен {MOMENT_HINT}")
    present, raw_lines = read.value("lines", required=True, nullable=False)
    lines: list[Line] = []
    if present:
        if not isinstance(raw_lines, list):
            read.fail("lines", "нужен массив строк счета")
        elif not 1 <= len(raw_lines) <= LINES_MAX:
            read.fail("lines", f"от 1 до {LINES_MAX} строк")
        else:
            for index, raw in enumerate(raw_lines):
                line = _line(raw, errors, index)
                if line is not None:
                    lines.append(line)
    if errors:
        raise _invalid(errors)
    return InvoiceRequest(at, tuple(lines))


def _line(raw: Any, errors: list[FieldError], index: int) -> Line | None:
    if not isinstance(raw, dict):
        errors.append(FieldError("нужен объект", pointer=_pointer("lines", index)))
        return None
    before = len(errors)
    read = _Reader(raw, errors, "lines", index)
    read.only(LINE_FIELDS)
    kind = read.choice("kind", LINE_KINDS, None)
    amount = read.integer("amount", 0, AMOUNT_MAX)
    description = read.string("description", DESCRIPTION_MAX, nullable=True)
    period = _period(read)
    if len(errors) > before:
        return None
    assert kind is not None and amount is not None  # noqa: S101
    return Line(cast(LineKind, kind), amount, period, description)


def _period(line: _Reader) -> Period | None:
    present, raw = line.value("period", required=False, nullable=True)
    if not present or raw is None:
        return None
    if not isinstance(raw, dict):
        line.fail("period", "нужен объект с first_day и last_day")
        return None
    before = len(line.errors)
    read = _Reader(raw, line.errors, *line.base, "period")
    read.only(PERIOD_FIELDS)
    hint = "нужна дата ГГГГ-ММ-ДД, например 2023-04-01"
    first = read.parsed("first_day", parse_day, hint, required=True)
    last = read.parsed("last_day", parse_day, hint, required=True)
    if len(line.errors) > before:
        return None
    period = Period(first, last)
    if period.days < 1:
        read.fail("last_day", "не раньше first_day")
        return None
    if period.days > PERIOD_DAYS_MAX:
        read.fail("last_day", f"период — не больше {PERIOD_DAYS_MAX} дней")
        return None
    return period
