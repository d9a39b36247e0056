"""The operator API's requests and answers, one pydantic model each. The models check what a
calling system sends (cabinet/api/inputs.py turns their errors into problem details) and the
OpenAPI document's schemas are generated from them (cabinet/api/openapi.py).

Moments: a request's are ISO 8601 strings, read in the cabinet's zone when they carry no offset
(`context={"zone": …}` when validating); an answer's are aware and written with that zone's
offset (the same context when dumping)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    AliasPath,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PlainSerializer,
    PlainValidator,
    SerializationInfo,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from cabinet import inputs as safe
from cabinet.billing import rules as billing
from cabinet.clients.models import ClientStatus
from cabinet.clients.services import NewClient
from cabinet.events.models import EventKind
from cabinet.moments import YEAR_MAX, YEAR_MIN, parse_moment
from cabinet.referrals import rules as referrals
from cabinet.referrals.queries import Standing

MAX_ID = safe.MAX_ID  # the columns are 32-bit integers
NAME_MAX, EMAIL_MAX, PHONE_MAX, DESCRIPTION_MAX = 200, 254, 32, 200
AMOUNT_MAX = 1_000_000_000_000  # kopecks: 10 billion roubles per line
LINES_MAX = 100
PERIOD_DAYS_MAX = 366
EVENTS_LIMIT_MAX, EVENTS_LIMIT_DEFAULT = 500, 100

DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
MOMENT_PATTERN = (
    DATE_PATTERN + r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
    r"(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
)
MOMENT_HINT = "нужен момент ISO 8601, например 2023-03-31T15:18 или 2023-03-31T15:18:00+03:00"
DAY_HINT = "нужна дата ГГГГ-ММ-ДД, например 2023-04-01"
_DIGITS = re.compile(r"[0-9]{1,10}")


def refuse(message: str, **ctx: Any) -> PydanticCustomError:
    """An error whose message is the Russian detail the answer shows (`{name}` from ctx)."""
    return PydanticCustomError("cabinet", message, ctx)


# ---- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Between:
    """An integer low…high; `text`: sent as digits (a path or query parameter)."""

    low: int
    high: int
    text: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        if self.text:
            return core_schema.no_info_plain_validator_function(self._from_text)
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}

    def _from_text(self, raw: Any) -> int:
        if isinstance(raw, str) and _DIGITS.fullmatch(raw):
            return self._check(int(raw))
        raise refuse("целое число от {low} до {high}", low=self.low, high=self.high)

    def _check(self, value: int) -> int:
        if self.low <= value <= self.high:
            return value
        text = "целое число от {low} до {high}" if self.text else "от {low} до {high}"
        raise refuse(text, low=self.low, high=self.high)


class OneOf:
    """Before a Literal: a value outside it is refused with the options named."""

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        options = get_args(source)

        def check(value: Any) -> Any:
            if value is not None and value not in options:
                raise refuse("одно из значений: " + ", ".join(options))
            return value

        return core_schema.no_info_before_validator_function(check, handler(source))


def _string(raw: Any) -> str:
    if not isinstance(raw, str):
        raise refuse("нужна строка")
    return raw


def _moment(raw: Any, info: ValidationInfo) -> datetime:
    text = _string(raw)
    if not re.fullmatch(MOMENT_PATTERN, text):
        raise refuse(MOMENT_HINT)
    try:
        return parse_moment(text, (info.context or {})["zone"])
    except ValueError:
        raise refuse(MOMENT_HINT) from None


def _day(raw: Any) -> date:
    text = _string(raw)
    try:
        day = date.fromisoformat(text) if re.fullmatch(DATE_PATTERN, text) else None
    except ValueError:
        day = None
    if day is None or not YEAR_MIN <= day.year <= YEAR_MAX:
        raise refuse(DAY_HINT)
    return day


def _not_blank(value: str) -> str:
    if not value.strip():
        raise refuse("не может быть пустым")
    return value


def _iso(moment: datetime, info: SerializationInfo) -> str:
    return moment.astimezone((info.context or {})["zone"]).isoformat()


DAY_SCHEMA = {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"}
MOMENT_SCHEMA = {
    "type": "string",
    "pattern": f"^{MOMENT_PATTERN}$",
    "description": "ISO 8601; без смещения — в часовом поясе кабинета (CABINET_TIMEZONE).",
    "examples": ["2023-03-31T15:18:00+03:00", "2023-03-31T15:18"],
}
# A moment sent: absent is None, null is refused (Optional only for the default).
Moment = Annotated[datetime, PlainValidator(_moment), WithJsonSchema(MOMENT_SCHEMA)]
MaybeMoment = Annotated[datetime | None, PlainValidator(_moment), WithJsonSchema(MOMENT_SCHEMA)]
Day = Annotated[date, PlainValidator(_day), WithJsonSchema(DAY_SCHEMA)]
# A moment answered: aware, with the offset of the cabinet's zone.
Instant = Annotated[
    AwareDatetime,
    PlainSerializer(_iso),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "description": "ISO 8601 со смещением часового пояса кабинета.",
        },
        mode="serialization",
    ),
]
Kopecks = Annotated[int, Field(ge=0, description="Копейки.")]
Percent = Annotated[int, Field(ge=0, le=100)]
Share = Annotated[int, Field(ge=1, le=100)]  # a percent the terms give: 1…100
Positive = Annotated[int, Field(ge=1)]


# ---- requests ------------------------------------------------------------------------------


class Request(BaseModel):
    """A request's body or query: strict JSON types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class ClientInput(Request):
    """Клиент целиком: отсутствующие необязательные поля становятся null."""

    name: Annotated[str, Field(min_length=1, max_length=NAME_MAX), AfterValidator(_not_blank)]
    registered_at: Moment
    promo_until: Moment | None = None
    email: Annotated[str, Field(max_length=EMAIL_MAX)] | None = None
    phone: Annotated[str, Field(max_length=PHONE_MAX)] | None = None
    status: Annotated[ClientStatus, OneOf()] = "active"

    def client(self, client_id: int) -> NewClient:
        phone = None if self.phone is None else self.phone.strip() or None
        return NewClient(client_id, **(self.model_dump() | {"phone": phone}))


class DaysInput(Request):
    """Дни first_day…last_day включительно."""

    first_day: Day
    last_day: Day

    @field_validator("last_day")
    @classmethod
    def _length(cls, last: date, info: ValidationInfo) -> date:
        first = info.data.get("first_day")
        if first is not None and last < first:
            raise refuse("не раньше first_day")
        if first is not None and (last - first).days + 1 > PERIOD_DAYS_MAX:
            raise refuse("период — не больше {days} дней", days=PERIOD_DAYS_MAX)
        return last


def _object(raw: Any) -> Any:
    if raw is not None and not isinstance(raw, dict):
        raise refuse("нужен объект с first_day и last_day")
    return raw


def _lines(raw: Any) -> Any:
    if not isinstance(raw, list):
        raise refuse("нужен массив строк счета")
    if not 1 <= len(raw) <= LINES_MAX:
        raise refuse("от 1 до {high} строк", high=LINES_MAX)
    return raw


class LineInput(Request):
    kind: Annotated[billing.LineKind, OneOf()]
    amount: Annotated[int, Between(0, AMOUNT_MAX)]
    description: Annotated[str, Field(max_length=DESCRIPTION_MAX)] | None = None
    period: Annotated[DaysInput | None, BeforeValidator(_object)] = None

    def line(self) -> billing.Line:
        p = self.period
        days = None if p is None else billing.Period(p.first_day, p.last_day)
        return billing.Line(self.kind, self.amount, days, self.description)


class InvoiceRequest(Request):
    """Строки счета; строка без периода считается на момент at (по умолчанию — сейчас)."""

    at: MaybeMoment = None
    lines: Annotated[
        list[LineInput], Field(min_length=1, max_length=LINES_MAX), BeforeValidator(_lines)
    ]


class AtQuery(Request):
    at: Annotated[MaybeMoment, Field(description="Момент; по умолчанию — сейчас")] = None


class EventsQuery(Request):
    after: Annotated[
        int,
        Between(0, MAX_ID, text=True),
        Field(description="id последнего обработанного события (0 — с начала)"),
    ] = 0
    limit: Annotated[int, Between(1, EVENTS_LIMIT_MAX, text=True)] = EVENTS_LIMIT_DEFAULT


# ---- answers -------------------------------------------------------------------------------


class Answer(BaseModel):
    """An answer: built from results (attributes of the same names), dumped with the zone."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        from_attributes=True,
        json_schema_serialization_defaults_required=True,
    )

    def dump(self, zone: tzinfo) -> dict[str, Any]:
        return self.model_dump(mode="json", context={"zone": zone})


class Client(Answer):
    id: Positive
    name: str
    registered_at: Instant
    promo_until: Instant | None
    email: str | None
    phone: str | None
    status: ClientStatus
    member: Annotated[bool, BeforeValidator(lambda row: row is not None)]  # the row's Member


class Grant(Answer):
    id: int
    percent: Share
    starts_at: Instant
    ends_at: Instant
    reason: referrals.GrantReason
    level: Positive | None
    terms_version: Annotated[
        int, Field(ge=1, description="Версия условий программы, по которой выдана скидка.")
    ]


class Referee(Answer):
    percent: Share = Field(validation_alias="referee_percent")
    months: Positive = Field(validation_alias="referee_months")


class Step(Answer):
    level: Positive
    percent: Share
    months: Positive
    sms_pack: Positive | None


def _terms(name: str) -> Any:
    """The field is read from the version's terms."""
    return Field(validation_alias=AliasPath("terms", name))


class Terms(Answer):
    """Версия условий программы."""

    version: Positive = _terms("version")
    title: str
    effective_from: Instant
    ends_at: Annotated[Instant | None, Field(description="Конец акции: дальше — прежние условия.")]
    referee: Referee = Field(validation_alias="terms")
    apply_window_months: Positive = _terms("apply_window_months")
    max_discount_percent: Share = _terms("max_discount_percent")
    ladder: Annotated[tuple[Step, ...], Field(min_length=1)] = _terms("ladder")


class Program(Answer):
    at: Instant
    current: Terms
    then: Annotated[
        Terms | None,
        Field(description="Условия после конца текущей акции (null — акции нет)."),
    ]
    upcoming: tuple[Terms, ...]

    @classmethod
    def of(cls, schedule: referrals.Schedule, at: datetime) -> Program:
        current = schedule.version_at(at)
        then = None if current.ends_at is None else schedule.version_at(current.ends_at)
        upcoming = schedule.upcoming(at)
        return cls.model_validate(
            {"at": at, "current": current, "then": then, "upcoming": upcoming}
        )


class Discount(Answer):
    client_id: int
    at: Instant
    percent: Percent
    terms_version: Positive
    max_percent: Share
    grants: tuple[Grant, ...]
    upcoming: tuple[Grant, ...]
    excluded_service_kinds: tuple[billing.LineKind, ...] = billing.EXCLUDED_KINDS

    @classmethod
    def of(cls, standing: Standing, at: datetime, terms: referrals.TermsNumbers) -> Discount:
        fields = {"client_id": standing.client_id, "at": at, "terms_version": terms.version}
        return cls.model_validate(
            fields
            | {"percent": standing.discount_percent, "max_percent": terms.max_discount_percent}
            | {"grants": standing.in_force, "upcoming": standing.upcoming}
        )


class Days(Answer):
    first_day: Annotated[date, WithJsonSchema(DAY_SCHEMA)] = Field(validation_alias="first")
    last_day: Annotated[date, WithJsonSchema(DAY_SCHEMA)] = Field(validation_alias="last")
    days: Positive


class Segment(Answer):
    period: Days | None
    percent: Percent
    amount: Kopecks
    discount: Kopecks
    total: Kopecks


class PricedLine(Answer):
    kind: billing.LineKind = Field(validation_alias=AliasPath("line", "kind"))
    description: str | None = Field(validation_alias=AliasPath("line", "description"))
    period: Days | None = Field(validation_alias=AliasPath("line", "period"))
    excluded: bool
    amount: Kopecks = Field(validation_alias=AliasPath("line", "amount"))
    discount: Kopecks
    total: Kopecks
    segments: Annotated[tuple[Segment, ...], Field(min_length=1)]


class Rounding(Answer):
    mode: Literal["half_up"] = billing.ROUNDING
    unit: Literal["kopeck"] = "kopeck"
    description: str = (
        "Каждое деление округляется до копейки, половина копейки — вверх. Сумма строки делится "
        "между частями периода нарастающим итогом, поэтому части в сумме дают строку без остатка; "
        "скидка части = ее сумма × процент / 100, округленная так же."
    )


class Totals(Answer):
    amount: Kopecks
    discount: Kopecks
    total: Kopecks


class Invoice(Answer):
    client_id: int
    at: Instant
    currency: Literal["RUB"] = "RUB"
    rounding: Rounding = Rounding()
    split: str = (
        "День периода получает скидку, действующую в конце этого дня (в часовом поясе кабинета): "
        "скидки, начавшиеся до полуночи и действующие в полночь. Дни подряд с одной скидкой — "
        "одна часть строки."
    )
    excluded_service_kinds: tuple[billing.LineKind, ...] = billing.EXCLUDED_KINDS
    lines: tuple[PricedLine, ...]
    totals: Totals

    @classmethod
    def of(cls, client_id: int, at: datetime, result: billing.Invoice) -> Invoice:
        return cls.model_validate(
            {"client_id": client_id, "at": at, "lines": result.lines, "totals": result}
        )


class Event(Answer):
    id: Positive
    kind: EventKind
    client_id: int
    occurred_at: Instant
    data: dict[str, Any]


class EventPage(Answer):
    events: tuple[Event, ...]
    next_after: Annotated[int, Field(ge=0)]
    has_more: bool
