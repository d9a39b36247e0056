"""Invitation rules: recipients, limits, retry timing. Pure: values in, values out."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from cabinet import addresses
from cabinet.backoff import Backoff as Backoff
from cabinet.backoff import retry_delay as retry_delay
from cabinet.invitations import errors

Channel = Literal["sms", "email"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
# What a gateway reports later about a sent message (a signed callback).
RECEIPTS: tuple[str, ...] = ("delivered", "undeliverable", "expired")
# Where an applied code came from (docs/invitations.md, «Conversion by channel»): an
# invitation the cabinet sent, or the member's own sharing of its personal link /r/<code>
# (the link as copied, its QR code, a messenger, the phone's share sheet).
LINK_CHANNELS: tuple[str, ...] = ("link", "qr", "telegram", "whatsapp", "share")
SOURCE_CHANNELS: tuple[str, ...] = (*CHANNELS, *LINK_CHANNELS)
# The marker a shared link carries (`/r/<code>?via=qr`): what each means. No marker, or one
# not in this list, is the link as copied.
VIA_MARKERS: dict[str, str] = {"qr": "qr", "tg": "telegram", "wa": "whatsapp", "share": "share"}


def link_channel(via: str | None) -> str:
    return VIA_MARKERS.get(via or "", "link")


# The SMS's refusal link /s/<token>: short (the SMS has two UCS-2 parts), unguessable enough
# behind the per-IP limit on misses (62⁸ ≈ 2·10¹⁴ tokens).
REFUSAL_TOKEN_LENGTH = 8
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def refusal_token(random_bytes: bytes) -> str:
    """REFUSAL_TOKEN_LENGTH base62 characters from 16 random bytes (the bias of 2¹²⁸ mod 62⁸
    is below 10⁻²³)."""
    number = int.from_bytes(random_bytes[:16], "big")
    digits = []
    for _ in range(REFUSAL_TOKEN_LENGTH):
        number, digit = divmod(number, len(_BASE62))
        digits.append(_BASE62[digit])
    return "".join(digits)


def is_refusal_token(text: str) -> bool:
    return len(text) == REFUSAL_TOKEN_LENGTH and all(c in _BASE62 for c in text)


def masked_phone(e164: str) -> str:
    """`+7 910 ***-**-67`: enough for a person to recognise its number on the refusal page,
    too little for whoever else opens the link."""
    shown = show_phone(e164)
    head, _, tail = shown.rpartition(" ")
    return f"{head} ***-**-{tail[-2:]}" if head else "***" + e164[-2:]


_MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
MAX_INPUT = addresses.MAX_EMAIL_LENGTH


@dataclass(frozen=True)
class Limits:
    daily_cap: int = 20  # invitations per member per calendar day
    recipient_cooldown_days: int = 7  # one invitation per recipient, across all members
    sms_daily_budget: int = 500  # SMS invitations per calendar day, the whole cabinet
    sms_countries: tuple[str, ...] = ("RU",)
    # A few accounts must not drain the day's SMS for everyone: each member has a daily
    # allowance, a new one (first days in the program or as a client) a smaller one, and the
    # last `sms_reserve` SMS of the day are kept for established members.
    sms_member_daily: int = 5
    sms_new_member_daily: int = 2
    new_member_days: int = 7
    sms_reserve: int = 100

    def sms_allowance(self, new_member: bool) -> int:
        return self.sms_new_member_daily if new_member else self.sms_member_daily

    def sms_open_to(self, new_member: bool) -> int:
        """How much of the day's budget this member may draw on."""
        return max(0, self.sms_daily_budget - (self.sms_reserve if new_member else 0))


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


HIDDEN_RECIPIENT = "контакт удален по сроку хранения"


def show_recipient(channel: str, recipient: str) -> str:
    if recipient.startswith(HASHED):
        return HIDDEN_RECIPIENT
    return show_phone(recipient) if channel == "sms" else recipient


HASHED = "h:"


def contact_hash(key: bytes, recipient: str) -> str:
    """What is kept of a contact once its time is up: HMAC-SHA256 under `CONTACT_HASH_KEY`.
    The same contact always gives the same hash, so cool-downs and the stop list still work;
    without the key, nobody can test a guess against it."""
    return HASHED + hmac.new(key, recipient.encode(), hashlib.sha256).hexdigest()


def stored_forms(key: bytes, recipient: str) -> tuple[str, str]:
    """A contact as a row may hold it: raw (within its retention) or hashed (after)."""
    return (recipient, contact_hash(key, recipient))


def purge_before(now: datetime, retention_days: int) -> datetime:
    """Contacts whose fate was known before this moment are replaced by their hash."""
    return now - timedelta(days=retention_days)


def fate(status: str, receipt: str | None, applied: bool, granted: bool) -> str:
    """The whole way of one invitation, as far as it got: queued | sending → sent →
    delivered | failed → applied (the friend applied the member's code) → granted (the
    member's discount came of it)."""
    if granted:
        return "granted"
    if applied:
        return "applied"
    if receipt == "delivered":
        return "delivered"
    if status == "failed" or receipt in ("undeliverable", "expired"):
        return "failed"
    return status


@dataclass(frozen=True)
class Usage:
    """What the limits are checked against, read under the invitation lock."""

    member_today: int
    last_to_recipient: datetime | None
    sms_today: int
    opted_out: bool
    member_sms_today: int = 0
    member_since: datetime | None = None  # the later of joining the program and registering
    token_taken: bool = False  # the SMS's refusal token drawn is another invitation's


def is_new_member(member_since: datetime | None, now: datetime, limits: Limits) -> bool:
    return member_since is not None and now - member_since < timedelta(days=limits.new_member_days)


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
        raise errors.RecipientCoolingDown(limits.recipient_cooldown_days, channel)
    if channel == "sms":
        new = is_new_member(usage.member_since, now, limits)
        allowance = limits.sms_allowance(new)
        if usage.member_sms_today >= allowance:
            raise errors.SmsMemberCapReached(allowance)
        if usage.sms_today >= limits.sms_open_to(new):
            raise errors.SmsBudgetExhausted()


def day_start(now: datetime, zone: tzinfo) -> datetime:
    """Midnight of `now`'s calendar day in the cabinet's zone: «сегодня» as a customer reads it."""
    local = now.astimezone(zone)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
