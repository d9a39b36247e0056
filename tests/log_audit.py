"""Every line the suite logs, checked as it is written: none may hold an unmasked e-mail
address or phone number (docs/operations.md, «Logs»). A line that does fails the run at its
end, with the lines quoted."""

from __future__ import annotations

import logging
import re

from cabinet import logs

# Contacts as they would appear unmasked, independent of cabinet/logs.py's own patterns.
UNMASKED_EMAIL = re.compile(r"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
UNMASKED_PHONE = re.compile(
    r"(?:\+7|\b8)[\s(-]*9\d\d[\s)-]*\d{3}[\s-]*\d\d[\s-]*\d\d|\+\d{10,14}|%2B\d{10,14}",
    re.IGNORECASE,
)
UNMASKED_EMAIL_ENCODED = re.compile(r"[A-Za-z0-9._+-]%40[A-Za-z0-9-]+\.", re.IGNORECASE)


def unmasked(text: str) -> list[str]:
    return (
        UNMASKED_EMAIL.findall(text)
        + UNMASKED_PHONE.findall(text)
        + UNMASKED_EMAIL_ENCODED.findall(text)
    )


class Audit(logging.Handler):
    """Formats each record as production does (JSON) and keeps the lines with a contact."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.JsonFormatter())
        self.lines = 0
        self.offending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        self.lines += 1
        if unmasked(line) and len(self.offending) < 20:
            self.offending.append(line)
