"""The program's terms as the customer reads them, built from the terms in force (a version of
`rules.Terms`; the help page's are version 1).

Pages, the share dialog, the flash messages and the invitation texts take their numbers and
phrases from here; none of them types a rule number.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from cabinet.referrals import rules
from cabinet.texts import months, months_for, months_within, number, percent


@dataclass(frozen=True)
class Terms:
    version: int
    referee_percent: str  # «20 %»
    referee_for: str  # «три месяца»
    referee_months: str  # «3 месяца»
    step_percent: str  # what the first referred client gives: «20 %»
    raise_by: str  # «увеличена на 20 % и продлена», or to the next level when steps differ
    apply_within: str  # «месяца» (в течение месяца после регистрации АТС)
    apply_for: str  # «месяц» (за месяц после регистрации АТС)
    max_percent: str  # «100 %»
    top_level: int
    sms_packs: tuple[tuple[int, str], ...]  # (clients, «пакет из 1 200 SMS»)


def sms_pack(size: int) -> str:
    return f"пакет из {number(size)} SMS"


@cache
def words(terms: rules.Terms) -> Terms:
    """The words of one version (computed once per version)."""
    steps = [s.percent for s in terms.ladder]
    rises = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    return Terms(
        version=terms.version,
        referee_percent=percent(terms.referee_percent),
        referee_for=months_for(terms.referee_months),
        referee_months=months(terms.referee_months),
        step_percent=percent(steps[0]),
        raise_by=(
            f"увеличена на {percent(steps[0])} и продлена"
            if rises <= {steps[0]}
            else "увеличена до следующего уровня «Таблицы скидок» и продлена"
        ),
        apply_within=months_within(terms.apply_window_months),
        apply_for=months_for(terms.apply_window_months),
        max_percent=percent(terms.max_discount_percent),
        top_level=terms.top_level,
        sms_packs=tuple(
            (step.level, sms_pack(step.sms_pack)) for step in terms.ladder if step.sms_pack
        ),
    )
