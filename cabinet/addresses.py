"""E-mail addresses as the cabinet stores and compares them (one rule for clients, managers and
invitations)."""

from __future__ import annotations

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254
# A number written without a country code is read as one of the operator's home country.
HOME_REGION = "RU"


class BadEmail(ValueError):
    pass


def normalise_email(raw: str) -> str:
    """A syntactically valid address, lower-cased; no look-up over the network. Line breaks and
    other control characters (header injection) never pass."""
    text = raw.strip()
    if not text or len(text) > MAX_EMAIL_LENGTH or not text.isprintable():
        raise BadEmail(text)
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise BadEmail(text) from exc


def phone_e164(raw: str | None) -> str | None:
    """`+79101234567` for any way of writing a valid number (`8 (910) 123-45-67`), else None."""
    if not raw or len(raw) > 40:
        return None
    try:
        number = phonenumbers.parse(raw, HOME_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
