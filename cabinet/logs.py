"""Logs: one line per event, JSON or text (`LOG_FORMAT`), contacts masked, a request id in each.

- **Request id**: a request's comes from its `X-Request-Id` when that is short and of safe
  characters, otherwise it is made anew (cabinet/web/observability.py); the delivery worker
  makes one per message. While it is bound (`bound(...)`), every line logged carries it, and
  the gateways receive it in their `X-Request-Id`.
- **Masking**: every record made in the process has its e-mail addresses and phone numbers
  masked before any handler sees it (a log record factory, so third-party loggers and test
  captures are masked too), and each formatted line is masked again (exception texts, extra
  fields): `i***@alfatelecom.ru`, `+7 *** ***-**-67`.
- **Formats**: `json` (one object per line: ts, level, logger, message, request_id and the
  event's fields; production's default) or `text` (development's default).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

FORMATS = ("json", "text")

# Fields of the current request (or of the worker's message): request_id, and whatever else
# was bound with it (invitation_id, channel).
_NOTHING: Mapping[str, Any] = MappingProxyType({})
_bound: ContextVar[Mapping[str, Any]] = ContextVar("cabinet_log_context", default=_NOTHING)

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

# An e-mail address: the local part keeps its first character.
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
# A phone number: 10 to 15 digits with the separators people write, optionally +.
_PHONE = re.compile(r"(?<![\w.:/+-])\+?\d(?:[\s()-]{0,2}\d){9,14}(?![\w/])")
# Percent-encoded forms, as they appear in logged URLs (`q=info%40alfatelecom.ru`, `%2B7916…`).
_PERCENT_AT = re.compile(r"%40", re.IGNORECASE)
_PERCENT_PLUS = re.compile(r"%2B(?=\d)", re.IGNORECASE)


def mask(text: str) -> str:
    """E-mail addresses and phone numbers in `text`, masked."""
    if "%" in text:
        text = _PERCENT_PLUS.sub("+", _PERCENT_AT.sub("@", text))
    if "@" in text:
        text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)
    return _PHONE.sub(_mask_phone, text)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _mask_phone(match: re.Match[str]) -> str:
    number = match.group(0)
    if _DATE.match(number):  # `2026-12-04 20`: a moment, not a number
        return number
    digits = re.sub(r"\D", "", number)
    if len(digits) == 11 and digits[0] in "78" or len(digits) == 10 and digits[0] == "9":
        return f"+7 *** ***-**-{digits[-2:]}"
    return f"+*** ***-**-{digits[-2:]}"


def valid_request_id(value: str | None) -> str | None:
    """A caller's request id, if short and of safe characters (letters, digits, `._:-`)."""
    if value and _REQUEST_ID.fullmatch(value):
        return value
    return None


def new_request_id() -> str:
    return secrets.token_hex(16)


def current_request_id() -> str | None:
    value = _bound.get().get("request_id")
    return None if value is None else str(value)


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every line logged inside the block carries `fields` (a request id, a message's id)."""
    token = _bound.set({**_bound.get(), **fields})
    try:
        yield
    finally:
        _bound.reset(token)


# Attributes every LogRecord has; anything else was passed in `extra=` and is the event's.
_STANDARD = frozenset(
    set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))
    | {"message", "asctime", "taskName", "context"}
)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, pid, the bound fields (request_id)
    and the `extra=` fields.

    The contacts are masked in each text of the line rather than in the whole line once it is
    written out: the masking looks at every character it is given, and half a request's line is
    its own keys, the moment and the JSON around the values (formatting a request's line:
    26 µs masked whole, 19 text by text; docs/performance.md). The moment, the level, the
    logger's name and the process id are the line's own. A value that is not a text, a number
    or None (a list, an object) is masked in the written line, as before."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": mask(record.getMessage()),
            "pid": record.process,
        }
        masked_each = True
        for key, value in _fields(record):
            if isinstance(value, str):
                value = mask(value)
            elif not (value is None or isinstance(value, int | float)):
                masked_each = False
            line[key] = value
        if record.exc_info:
            line["exception"] = mask(self.formatException(record.exc_info))
        if record.stack_info:
            line["stack"] = mask(self.formatStack(record.stack_info))
        text = json.dumps(line, ensure_ascii=False, default=str)
        return text if masked_each else mask(text)


def _fields(record: logging.LogRecord) -> Iterator[tuple[str, Any]]:
    """The bound fields (request_id), then the `extra=` ones."""
    yield from getattr(record, "context", {}).items()
    for key, value in vars(record).items():
        if key not in _STANDARD and not key.startswith("_"):
            yield key, value


class TextFormatter(logging.Formatter):
    """`2026-12-04 20:21:55 INFO cabinet [request id] message key=value …`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = dict(getattr(record, "context", {}))
        fields.update(
            (k, v) for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")
        )
        request_id = fields.pop("request_id", None)
        head, _, rest = text.partition("\n")
        if request_id:
            head = head.replace(f" {record.name} ", f" {record.name} [{request_id}] ", 1)
        if fields:
            head += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return mask(head + ("\n" + rest if rest else ""))


def formatter(kind: str) -> logging.Formatter:
    if kind not in FORMATS:
        raise ValueError(f"LOG_FORMAT: json или text, а не {kind!r}")
    return JsonFormatter() if kind == "json" else TextFormatter()


_factory_installed = False


def install_masking() -> None:
    """Mask contacts in every record made from now on, whoever logs it (once per process)."""
    global _factory_installed
    if _factory_installed:
        return
    make = logging.getLogRecordFactory()

    def masked_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the handler reports it as logging does  # noqa: BLE001
            return record
        record.msg, record.args = mask(message), None
        record.context = _bound.get()
        return record

    logging.setLogRecordFactory(masked_record)
    _factory_installed = True


_HANDLER_NAME = "cabinet"


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each line, not at the first."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        """StreamHandler's constructor sets it; the current stderr is always used."""


def configure(kind: str, level: int = logging.INFO) -> None:
    """Masking on, and one handler on the root logger to stderr in the chosen format (the
    cabinet's, Flask's, Flask-Limiter's and gunicorn's error lines all end there). Called by
    every app made in the process; the handler is set once and its format follows the last."""
    install_masking()
    root = logging.getLogger()
    handler = next((h for h in root.handlers if h.get_name() == _HANDLER_NAME), None)
    if handler is None:
        handler = _StderrHandler()
        handler.set_name(_HANDLER_NAME)
        root.addHandler(handler)
    handler.setFormatter(formatter(kind))
    if root.level > level or root.level == logging.NOTSET:
        root.setLevel(level)
