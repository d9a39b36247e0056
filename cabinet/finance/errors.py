"""Why a report cannot be made."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal


class MonthInvalid(ProgramRefusal):
    """The refused text is not echoed back: it may be anything at all."""

    message = "Месяц не понят: укажите год и месяц, например 2026-11."

    def __init__(self, text: str = "") -> None:
        super().__init__()
