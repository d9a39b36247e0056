"""Webhook rules: the Standard Webhooks signature, secrets, ids, addresses, the body."""

from __future__ import annotations

import base64
import json

import pytest

from cabinet.webhooks import errors, rules

# The test vector of the Standard Webhooks reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_signature_is_the_schemes() -> None:
    assert rules.signature(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE


def test_verify_accepts_the_spec_vector_and_refuses_any_change() -> None:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": "v1,bm90IHRoaXMgb25l " + SPEC_SIGNATURE,  # several: one must match
    }
    assert rules.verify(SPEC_SECRET, headers, SPEC_BODY, SPEC_TIMESTAMP + 10)
    assert not rules.verify(SPEC_SECRET, headers, SPEC_BODY + b" ", SPEC_TIMESTAMP)
    assert not rules.verify(SPEC_SECRET, headers, SPEC_BODY, SPEC_TIMESTAMP + 301)  # too old
    other = rules.new_secret(b"\x01" * 32)
    assert not rules.verify(other, headers, SPEC_BODY, SPEC_TIMESTAMP)
    assert not rules.verify(
        SPEC_SECRET, {**headers, "webhook-id": "msg_x"}, SPEC_BODY, SPEC_TIMESTAMP
    )
    assert not rules.verify(SPEC_SECRET, {"webhook-id": SPEC_ID}, SPEC_BODY, SPEC_TIMESTAMP)


def test_headers_carry_id_timestamp_and_signature() -> None:
    headers = rules.headers(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY)
    assert headers["Webhook-Id"] == SPEC_ID
    assert headers["Webhook-Timestamp"] == "1614265330"
    assert headers["Webhook-Signature"] == SPEC_SIGNATURE
    assert headers["Content-Type"] == "application/json"
    assert rules.verify(SPEC_SECRET, headers, SPEC_BODY, SPEC_TIMESTAMP)


def test_a_new_secret_is_whsec_and_base64_of_the_random_bytes() -> None:
    secret = rules.new_secret(bytes(range(32)))
    assert secret.startswith("whsec_")
    assert base64.b64decode(secret[6:]) == bytes(range(32))
    assert rules.secret_key(secret) == bytes(range(32))
    with pytest.raises(ValueError):
        rules.new_secret(b"short")


def test_the_message_id_is_one_per_event_per_subscriber() -> None:
    assert rules.message_id(3, 41) == "msg_3_41"
    assert rules.message_id(3, 41) == rules.message_id(3, 41)
    assert rules.message_id(3, 41) != rules.message_id(4, 41)
    assert rules.message_id(31, 4) != rules.message_id(3, 14)


@pytest.mark.parametrize(
    "url",
    ["https://billing.example.ru/hooks", " https://billing.example.ru:8443/hooks?x=1 "],
)
def test_https_addresses_are_taken(url: str) -> None:
    assert rules.check_url(url, allow_http_loopback=False) == url.strip()


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hooks", "http://localhost/h"])
def test_plain_http_only_to_loopback_and_only_when_allowed(url: str) -> None:
    assert rules.check_url(url, allow_http_loopback=True) == url
    with pytest.raises(errors.UrlNotHttps):
        rules.check_url(url, allow_http_loopback=False)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "billing.example.ru",
        "ftp://billing.example.ru/",
        "https://",
        "https://user:pw@billing.example.ru/",
        "https://billing.example.ru:99999/",
        "https://billing.example.ru/a b",
        "https://billing.example.ru/#x",
        "https://x.ru/" + "a" * 2000,
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(errors.UrlInvalid):
        rules.check_url(url, allow_http_loopback=True)


def test_http_to_another_host_is_refused_even_in_development() -> None:
    with pytest.raises(errors.UrlNotHttps):
        rules.check_url("http://billing.example.ru/hooks", allow_http_loopback=True)


def test_the_body_wraps_the_feeds_event_in_the_schemes_envelope() -> None:
    raw = rules.body(7, "grant_issued", 400, "2023-03-31T12:00:00+03:00", {"percent": 20})
    assert json.loads(raw) == {
        "type": "grant_issued",
        "timestamp": "2023-03-31T12:00:00+03:00",
        "data": {
            "id": 7,
            "kind": "grant_issued",
            "client_id": 400,
            "occurred_at": "2023-03-31T12:00:00+03:00",
            "data": {"percent": 20},
        },
    }


def test_a_long_note_is_refused_and_spaces_are_collapsed() -> None:
    assert rules.check_note("  биллинг   АТС ") == "биллинг АТС"
    with pytest.raises(errors.NoteTooLong):
        rules.check_note("я" * 201)
