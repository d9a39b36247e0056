"""Why a report cannot be made."""

from __future__ import annotations

from cabinet.errors import ProgramRefusal


class MonthInvalid(ProgramRefusal):
    def __init__(self, text: str) -> None:
        shown = text.strip()[:20]
        super().__init__(f"Месяц «{shown}» не понят: укажите его как 2026-11 (год и месяц).")
