"""E-mail addresses as the cabinet stores and compares them (one rule for clients, managers and
invitations)."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL_LENGTH = 254


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
