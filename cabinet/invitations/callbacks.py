"""Signed callbacks from the gateways (docs/invitations.md, «Что шлюз сообщает потом»). Pure:
values in, values out.

The gateway signs `<timestamp>.<body>` with HMAC-SHA256 under `GATEWAY_CALLBACK_SECRET` and
sends `X-Gateway-Timestamp: <unix seconds>` and `X-Gateway-Signature: sha256=<hex>`. A bad
signature, a timestamp outside the window, or the same signed request twice is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cabinet.invitations import errors
from cabinet.invitations.rules import RECEIPTS

TIMESTAMP_HEADER = "X-Gateway-Timestamp"
SIGNATURE_HEADER = "X-Gateway-Signature"
MAX_BODY = 4096
# What a person answers to an SMS to refuse any more («СТОП», «stop», …), compared casefolded.
STOP_WORDS = frozenset({"стоп", "stop", "отписаться", "отказ", "unsubscribe"})


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, signature: str, body: bytes, now: datetime, window: float
) -> str:
    """The request's replay digest, once its signature and age are right."""
    if not timestamp.isdigit() or len(timestamp) > 12 or len(body) > MAX_BODY:
        raise errors.CallbackMalformed()
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise errors.CallbackSignatureBad()
    if abs(now.timestamp() - int(timestamp)) > window:
        raise errors.CallbackTooOld()
    return hashlib.sha256(signature.encode()).hexdigest()


@dataclass(frozen=True)
class Receipt:
    key: str
    status: str  # delivered | undeliverable | expired


@dataclass(frozen=True)
class Inbound:
    sender: str  # as the gateway wrote it; normalised by the service
    stop: bool


def _object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise errors.CallbackMalformed() from exc
    if not isinstance(value, dict):
        raise errors.CallbackMalformed()
    return value


def parse_receipt(body: bytes) -> Receipt:
    """`{"key": "<the Idempotency-Key>", "status": "delivered|undeliverable|expired"}`."""
    value = _object(body)
    key, status = value.get("key"), value.get("status")
    if not isinstance(key, str) or not 0 < len(key) <= 36 or status not in RECEIPTS:
        raise errors.CallbackMalformed()
    return Receipt(key, str(status))


def parse_inbound(body: bytes) -> Inbound:
    """`{"from": "+79101234567", "text": "СТОП"}`: an SMS a person sent back."""
    value = _object(body)
    sender, text = value.get("from"), value.get("text")
    if not isinstance(sender, str) or not isinstance(text, str) or len(sender) > 32:
        raise errors.CallbackMalformed()
    word = text.strip().strip(".!«»\"'").casefold()
    return Inbound(sender, word in STOP_WORDS)
