"""Contacts are masked in log lines; request ids are accepted only when short and safe."""

from __future__ import annotations

import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet import logs


@pytest.mark.parametrize(
    ("line", "masked"),
    [
        ("to info@alfatelecom.ru now", "to i***@alfatelecom.ru now"),
        ("account:c401@example.ru", "account:c***@example.ru"),
        ("q=zakaz%40stroykomplekt.ru&x=1", "q=z***@stroykomplekt.ru&x=1"),
        ("sms to +79161234567.", "sms to +7 *** ***-**-67."),
        ("sms to 89161234567", "sms to +7 *** ***-**-67"),
        ("call +7 (916) 123-45-67 today", "call +7 *** ***-**-67 today"),
        ("call 8 916 123 45 67", "call +7 *** ***-**-67"),
        ("?q=%2B79161234567", "?q=+7 *** ***-**-67"),
        ("intl +442071234567", "intl +*** ***-**-67"),
    ],
)
def test_contacts_are_masked(line: str, masked: str) -> None:
    assert logs.mask(line) == masked


@pytest.mark.parametrize(
    "line",
    [
        "2026-12-04 20:21:55,123 INFO took 12.5 ms",
        "request 0f3c2a9e1b7d4c6a8e5f0a1b2c3d4e5f",
        "invitation 1234 attempt 3 of 8",
        "version 2.0.11 on 127.0.0.1:8000",
        "ts 2026-12-04T20:21:55.123+00:00",
    ],
)
def test_other_numbers_are_left_alone(line: str) -> None:
    assert logs.mask(line) == line


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123_X.y:z", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("has space", False),
        ("new\nline", False),
        ('quote"', False),
        ("кириллица", False),
    ],
)
def test_a_request_id_is_taken_only_when_short_and_safe(given: str, kept: bool) -> None:
    assert (logs.valid_request_id(given) == given) is kept


def test_a_record_is_masked_for_every_handler_and_carries_its_context(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logs.install_masking()
    with caplog.at_level(logging.INFO), logs.bound(request_id="req-1"):
        logging.getLogger("some.library").info("sent to %s and %s", "a@b.ru", "+79161234567")
    (record,) = caplog.records
    assert record.getMessage() == "sent to a***@b.ru and +7 *** ***-**-67"
    assert caplog.text.count("***") == 3
    line = json.loads(logs.JsonFormatter().format(record))
    assert line["request_id"] == "req-1"
    assert line["message"] == "sent to a***@b.ru and +7 *** ***-**-67"
    assert line["logger"] == "some.library"
    assert "[req-1]" in logs.TextFormatter().format(record)


def test_extra_fields_and_tracebacks_are_masked_by_the_formatters() -> None:
    try:
        raise ValueError("bad address info@alfatelecom.ru")
    except ValueError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    record.recipient = "+79161234567"
    for formatter in (logs.JsonFormatter(), logs.TextFormatter()):
        text = formatter.format(record)
        assert "info@alfatelecom.ru" not in text and "i***@alfatelecom.ru" in text
        assert "79161234567" not in text and "+7 *** ***-**-67" in text


def test_log_format_is_json_or_text() -> None:
    assert isinstance(logs.formatter("json"), logs.JsonFormatter)
    assert isinstance(logs.formatter("text"), logs.TextFormatter)
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.formatter("xml")


def test_the_format_defaults_to_json_in_production_and_text_elsewhere() -> None:
    from cabinet.config import from_environment

    assert from_environment({"CABINET_ENV": "production"})["LOG_FORMAT"] == "json"
    assert from_environment({})["LOG_FORMAT"] == "text"
    assert from_environment({"LOG_FORMAT": "json"})["LOG_FORMAT"] == "json"
    assert from_environment({})["METRICS_TOKEN"] == ""


def _request_record(**fields: object) -> logging.LogRecord:
    record = logging.LogRecord("cabinet.request", logging.INFO, __file__, 1, "GET %s", ("x",), None)
    record.context = {"request_id": "0f3c2a9e1b7d4c6a8e5f0a1b2c3d4e5f"}
    for key, value in fields.items():
        setattr(record, key, value)
    return record


def test_a_request_line_is_masked_value_by_value() -> None:
    record = _request_record(
        path="/links?to=%2B79161234567",
        referer="https://mail.example/?from=info@alfatelecom.ru",
        user_agent="Mozilla/5.0 (call 8 916 123 45 67)",
        status=200,
        bytes=3670,
        duration_ms=4.12,
        forwarded_for=None,
    )
    text = logs.JsonFormatter().format(record)
    line = json.loads(text)
    assert line["path"] == "/links?to=+7 *** ***-**-67"
    assert line["referer"] == "https://mail.example/?from=i***@alfatelecom.ru"
    assert line["user_agent"] == "Mozilla/5.0 (call +7 *** ***-**-67)"
    assert (line["status"], line["bytes"], line["duration_ms"]) == (200, 3670, 4.12)
    assert line["request_id"] == "0f3c2a9e1b7d4c6a8e5f0a1b2c3d4e5f"
    assert logs.mask(text) == text


def test_a_value_that_is_not_a_text_is_masked_in_the_written_line() -> None:
    record = _request_record(recipients=["+79161234567", "a@b.ru"], note=object())
    text = logs.JsonFormatter().format(record)
    assert "79161234567" not in text and "+7 *** ***-**-67" in text and "a***@b.ru" in text


_TEXTS = st.text(alphabet='0123456789+ ()-.:/@%4B2abz\n\t"\\\x07ж', max_size=40)


@settings(max_examples=500)
@given(st.dictionaries(st.sampled_from(["path", "referer", "user_agent", "remote"]), _TEXTS))
def test_masking_each_text_leaves_nothing_for_the_whole_line(fields: dict[str, str]) -> None:
    """What the line masked as a whole found is found in its texts one by one."""
    text = logs.JsonFormatter().format(_request_record(**fields))
    assert logs.mask(text) == text
    line = json.loads(text)
    assert {key: line[key] for key in fields} == {key: logs.mask(v) for key, v in fields.items()}
