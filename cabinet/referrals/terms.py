"""The program's rules as the customer reads them, built from rules.py (the one source).

Pages, the share dialog, the flash messages, the invitation texts and the API document take
their numbers and phrases from here; none of them types a rule number.
"""

from __future__ import annotations

from dataclasses import dataclass

from cabinet.referrals import rules
from cabinet.texts import months, months_for, months_within, number, percent


@dataclass(frozen=True)
class Terms:
    referee_percent: str  # «20 %»
    referee_for: str  # «три месяца»
    referee_months: str  # «3 месяца»
    step_percent: str  # what each referred client adds: «20 %»
    apply_within: str  # «месяца» (в течение месяца после регистрации АТС)
    apply_for: str  # «месяц» (за месяц после регистрации АТС)
    max_percent: str  # «100 %»
    top_level: int
    sms_packs: tuple[tuple[int, str], ...]  # (clients, «пакет из 1 200 SMS»)


def sms_pack(size: int) -> str:
    return f"пакет из {number(size)} SMS"


def terms() -> Terms:
    return Terms(
        referee_percent=percent(rules.REFEREE_PERCENT),
        referee_for=months_for(rules.REFEREE_MONTHS),
        referee_months=months(rules.REFEREE_MONTHS),
        step_percent=percent(rules.LADDER[0].percent),
        apply_within=months_within(rules.APPLY_WINDOW_MONTHS),
        apply_for=months_for(rules.APPLY_WINDOW_MONTHS),
        max_percent=percent(rules.MAX_DISCOUNT_PERCENT),
        top_level=rules.TOP_LEVEL,
        sms_packs=tuple(
            (step.level, sms_pack(step.sms_pack)) for step in rules.LADDER if step.sms_pack
        ),
    )


TERMS = terms()
