"""Retry timing of every outbox (invitations, webhooks). Pure: values in, values out."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    max_attempts: int = 8


def retry_delay(
    attempt: int, backoff: Backoff, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds before the next try: exponential with "equal jitter" (half fixed, half random,
    so retries of many messages spread out); a receiver's Retry-After wins
    when it asks for longer."""
    ceiling = min(backoff.max_seconds, backoff.base_seconds * 2 ** max(0, attempt - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, backoff.max_seconds))
    return delay
