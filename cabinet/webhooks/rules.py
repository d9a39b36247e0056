"""Webhook rules: secrets, signatures (the Standard Webhooks scheme), addresses, bodies.
Pure: values in, values out."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from cabinet.webhooks import errors

MAX_URL = 2000
MAX_NOTE = 200
SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
SECRET_BYTES = 32  # the scheme allows 24 to 64
# A receiver refuses a message whose timestamp is further than this from its clock.
TOLERANCE_SECONDS = 300
# Hosts that may be reached over plain http, and only when the cabinet allows it (development
# and tests: WEBHOOK_ALLOW_HTTP_LOOPBACK).
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def new_secret(random_bytes: bytes) -> str:
    """`whsec_` + base64 of the random bytes: the form the scheme's libraries read."""
    if len(random_bytes) < 24:
        raise ValueError("a webhook secret needs at least 24 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: the bytes behind `whsec_`."""
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def message_id(subscriber_id: int, event_id: int) -> str:
    """The `webhook-id`: one per event per subscriber, the same on every retry and replay,
    so a receiver that stores the ids it has processed handles each event once."""
    return f"msg_{subscriber_id}_{event_id}"


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, msg_id, timestamp, body),
    }


def verify(
    secret: str,
    received: Mapping[str, str],
    body: bytes,
    now_seconds: int,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver checks: the three headers, the timestamp within `tolerance` of its
    clock, and one of the space-separated signatures equal to ours (compared in constant
    time). `received` is read case-insensitively, as HTTP headers are."""
    lowered = {key.lower(): value for key, value in received.items()}
    msg_id = lowered.get("webhook-id", "")
    stamp = lowered.get("webhook-timestamp", "")
    signatures = lowered.get("webhook-signature", "")
    if not (msg_id and stamp.isdigit() and signatures):
        return False
    if abs(now_seconds - int(stamp)) > tolerance:
        return False
    expected = signature(secret, msg_id, int(stamp), body)
    return any(hmac.compare_digest(expected, given) for given in signatures.split())


def check_url(raw: str, allow_http_loopback: bool) -> str:
    """The subscriber's address, trimmed: https with a host; plain http only for a loopback
    host and only when allowed. Raises `UrlInvalid` or `UrlNotHttps`."""
    url = raw.strip()
    if not url or len(url) > MAX_URL or not url.isprintable() or " " in url:
        raise errors.UrlInvalid()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError as exc:
        raise errors.UrlInvalid() from exc
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username:
        raise errors.UrlInvalid()
    if parts.fragment:
        raise errors.UrlInvalid()
    if parts.scheme == "http" and not (allow_http_loopback and _loopback(parts.hostname)):
        raise errors.UrlNotHttps()
    return url


def _loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_note(raw: str) -> str:
    note = " ".join(raw.split())
    if len(note) > MAX_NOTE:
        raise errors.NoteTooLong()
    return note


def body(
    event_id: int, kind: str, client_id: int, occurred_at: str, data: Mapping[str, Any]
) -> bytes:
    """The JSON POSTed for one event: the scheme's envelope (`type`, `timestamp`, `data`)
    around the event as the feed `GET /api/v1/events` shows it."""
    envelope = {
        "type": kind,
        "timestamp": occurred_at,
        "data": {
            "id": event_id,
            "kind": kind,
            "client_id": client_id,
            "occurred_at": occurred_at,
            "data": dict(data),
        },
    }
    return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()


def accepted(status_code: int) -> bool:
    """Any 2xx is a delivery; everything else (and no answer) is tried again later."""
    return 200 <= status_code < 300
