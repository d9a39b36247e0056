"""What the cabinet accepts from outside, decided in one place: text, numbers, redirect targets.

Pure functions (no Flask): the web guard (`cabinet/guard.py`), the forms' validators and the
API's reader all call these, so a form field, a query parameter and a JSON field refuse the same
characters and the same numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

# The database columns are 32-bit integers; an id beyond them can name no row.
MAX_ID = 2_147_483_647
# A keyset cursor's moment: microseconds since 1970, up to the year 2999.
MAX_CURSOR_MICROS = 32_503_680_000 * 1_000_000
# Forms of the cabinet are a few fields; the API's largest body (an invoice preview of 100 lines)
# is ~30 KB. Anything bigger is refused before it is read.
MAX_CONTENT_LENGTH = 128 * 1024

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls but TAB, LF and CR; DEL; C1 controls. NUL is among them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile("[\t\r\n\u2028\u2029\x85]")
# Bidirectional overrides and isolates: they make a name read differently from what it is.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
_DIGITS = re.compile(r"[0-9]{1,20}")  # longer can only be out of range


def text_problem(value: str, *, single_line: bool = True) -> str | None:
    """Why `value` cannot be accepted, in Russian; None when it can.

    Refused everywhere: NUL and other control characters, lone surrogates (they cannot be
    encoded, so neither stored nor shown). In a single-line field also line breaks and tabs
    (a name reaching an e-mail header must not carry a new header) and bidirectional
    overrides (a name must read the way it is stored)."""
    if _LONE_SURROGATE.search(value):
        return "недопустимые символы (непарные суррогаты Юникода)"
    if _CONTROL.search(value):
        return "недопустимые управляющие символы"
    if single_line:
        if _LINE_BREAK.search(value):
            return "перевод строки и табуляция здесь недопустимы"
        if _BIDI.search(value):
            return "символы смены направления текста недопустимы"
    return None


def unsafe_strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every place in a parsed JSON value (keys included) holding an unacceptable string, as
    (pointer parts..., reason). API fields are all single-line."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem is not None:
            yield (*(str(p) for p in path), problem)
    elif isinstance(value, dict):
        for key, item in value.items():
            key_problem = text_problem(str(key))
            if key_problem is not None:
                # The key itself cannot be echoed back in a pointer: name its position only.
                yield (*(str(p) for p in path), "?", "имя поля: " + key_problem)
                continue
            yield from unsafe_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from unsafe_strings(item, (*path, index))


def bounded_int(raw: str | None, low: int = 1, high: int = MAX_ID) -> int | None:
    """A decimal integer within [low, high] (ASCII digits only), else None."""
    if raw is None or not _DIGITS.fullmatch(raw):
        return None
    number = int(raw)
    return number if low <= number <= high else None


def safe_redirect_target(target: str | None, default: str) -> str:
    """A path on this site to go to after an action, or `default`: never another site.

    Browsers read `//host`, `/\\host`, `/%09/host` and `\\\\host` as other hosts, so only
    a single leading slash followed by a non-slash is accepted, with no backslash, no control
    character and no scheme or host anywhere."""
    if not target or len(target) > 2000:
        return default
    if text_problem(target) is not None or "\\" in target:
        return default
    stripped = target.strip()
    if stripped != target or not target.startswith("/") or target.startswith("//"):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    # Percent-encoded slashes and backslashes decode to the same tricks in some browsers.
    lowered = target.lower()
    if lowered.startswith(("/%2f", "/%5c", "/%09", "/%0a", "/%0d")):
        return default
    return target


def path_of(url: str | None) -> str | None:
    """The path and query of an absolute URL (a Referer), for `safe_redirect_target`; None when
    it names another host than `host`."""
    if not url:
        return None
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path or None


def same_host(url: str, host: str) -> bool:
    parts = urlsplit(url)
    return not parts.netloc or parts.netloc == host


def display_safe(value: str) -> str:
    """A stored text made fit for a single-line context (an e-mail subject): every control,
    line break and bidirectional override becomes a space, whitespace runs collapse."""
    cleaned = "".join(
        " " if unicodedata.category(ch) in ("Cc", "Zl", "Zp") or _BIDI.match(ch) else ch
        for ch in _LONE_SURROGATE.sub("", value)
    )
    return " ".join(cleaned.split())
