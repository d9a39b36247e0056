"""Invitation rules: recipients, limits, retry timing. Pure: values in, values out."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from cabinet import addresses
from cabinet.invitations import errors

Channel = Literal["sms", "email"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
MAX_INPUT = addresses.MAX_EMAIL_LENGTH


@dataclass(frozen=True)
class Limits:
    daily_cap: int = 20  # invitations per member per calendar day
    recipient_cooldown_days: int = 7  # one invitation per recipient, across all members
    sms_daily_budget: int = 500  # SMS invitations per calendar day, the whole cabinet
    sms_countries: tuple[str, ...] = ("RU",)


def normalise_phone(raw: str, countries: Iterable[str]) -> str:
    """E.164 (`+79101234567`) of a valid mobile number in an allowed country."""
    text = raw.strip()
    if not text or len(text) > 32 or not text.isprintable():
        raise errors.PhoneInvalid()
    allowed = tuple(countries)
    try:
        number = phonenumbers.parse(text, allowed[0] if allowed else None)
    except NumberParseException as exc:
        raise errors.PhoneInvalid() from exc
    if not phonenumbers.is_valid_number(number):
        raise errors.PhoneInvalid()
    if phonenumbers.region_code_for_number(number) not in allowed:
        raise errors.PhoneCountryNotAllowed(allowed)
    if phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise errors.PhoneNotMobile()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def show_phone(e164: str) -> str:
    """`+7 910 123-45-67`, as the help page writes numbers."""
    return phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )


def normalise_email(raw: str) -> str:
    try:
        return addresses.normalise_email(raw)
    except addresses.BadEmail as exc:
        raise errors.EmailInvalid() from exc


def normalise_recipient(channel: Channel, raw: str, limits: Limits) -> str:
    if channel == "sms":
        return normalise_phone(raw, limits.sms_countries)
    return normalise_email(raw)


def show_recipient(channel: str, recipient: str) -> str:
    return show_phone(recipient) if channel == "sms" else recipient


@dataclass(frozen=True)
class Usage:
    """What the limits are checked against, read under the invitation lock."""

    member_today: int
    last_to_recipient: datetime | None
    sms_today: int
    opted_out: bool


def check_invitation(
    channel: Channel, consent: bool, usage: Usage, now: datetime, limits: Limits
) -> None:
    if not consent:
        raise errors.ConsentMissing()
    if usage.opted_out:
        raise errors.RecipientOptedOut()
    if usage.member_today >= limits.daily_cap:
        raise errors.DailyCapReached(limits.daily_cap)
    cooldown = timedelta(days=limits.recipient_cooldown_days)
    if usage.last_to_recipient is not None and now - usage.last_to_recipient < cooldown:
        raise errors.RecipientCoolingDown(limits.recipient_cooldown_days)
    if channel == "sms" and usage.sms_today >= limits.sms_daily_budget:
        raise errors.SmsBudgetExhausted()


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """Midnight of `now`'s calendar day in the cabinet's zone: «сегодня» as a customer reads it."""
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Backoff:
    base_seconds: float = 2.0
    max_seconds: float = 600.0
    max_attempts: int = 8


def retry_delay(
    attempt: int, backoff: Backoff, rng: random.Random, retry_after: float | None = None
) -> float:
    """Seconds before the next try: exponential with "equal jitter" (half fixed, half random,
    so retries of many messages spread out); a gateway's Retry-After wins
    when it asks for longer."""
    ceiling = min(backoff.max_seconds, backoff.base_seconds * 2 ** max(0, attempt - 1))
    delay = rng.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        delay = max(delay, min(retry_after, backoff.max_seconds))
    return delay
