"""One validator for every text field of every form: the same characters refused as in the
API (cabinet/inputs.py), a length limit, and a refused value never echoed back."""

from __future__ import annotations

from typing import Any

from wtforms.validators import StopValidation

from cabinet.inputs import text_problem


class SafeText:
    """At most `max_length` characters; no control characters or lone surrogates; in a
    single-line field no line breaks or bidirectional overrides either.

    A refused value is cleared, so the re-rendered form does not carry it back (a 50 MB
    «code» once came back whole)."""

    def __init__(self, max_length: int, *, single_line: bool = True, too_long: str = "") -> None:
        self.max_length = max_length
        self.single_line = single_line
        self.too_long = too_long or f"Не длиннее {max_length} символов."

    def __call__(self, form: Any, field: Any) -> None:
        value = field.data if isinstance(field.data, str) else ""
        if len(value) > self.max_length:
            self._refuse(field, self.too_long)
        problem = text_problem(value, single_line=self.single_line)
        if problem is not None:
            self._refuse(field, f"Недопустимые символы: {problem}.")

    @staticmethod
    def _refuse(field: Any, message: str) -> None:
        field.data = ""
        field.raw_data = [""]
        raise StopValidation(message)
