"""What a version of the terms changes, against the version in force before it starts: the
lines «Условия программы» shows for it («уровень 1: 20 % на 3 месяца → 40 % на 3 месяца»)."""

from __future__ import annotations

from cabinet.referrals.rules import Schedule, Step, TermsNumbers, Version
from cabinet.referrals.terms import sms_pack
from cabinet.texts import months, percent

SAME = "условия те же"
FIRST = "первая версия"


def _grant(p: int, m: int) -> str:
    return f"{percent(p)} на {months(m)}"


def _step(step: Step) -> str:
    said = _grant(step.percent, step.months)
    return said if step.sms_pack is None else f"{said} и {sms_pack(step.sms_pack)}"


def _pack(size: int | None) -> str:
    return "без пакета SMS" if size is None else sms_pack(size)


def differences(before: TermsNumbers, after: TermsNumbers) -> tuple[str, ...]:
    """Each number `after` changes, in words; (SAME,) when it changes none."""
    said: list[str] = []
    if (before.referee_percent, before.referee_months) != (
        after.referee_percent,
        after.referee_months,
    ):
        said.append(
            f"новому клиенту: {_grant(before.referee_percent, before.referee_months)} → "
            f"{_grant(after.referee_percent, after.referee_months)}"
        )
    for level in range(1, max(len(before.ladder), len(after.ladder)) + 1):
        old = before.ladder[level - 1] if level <= len(before.ladder) else None
        new = after.ladder[level - 1] if level <= len(after.ladder) else None
        if old is None and new is not None:
            said.append(f"новый уровень {level}: {_step(new)}")
        elif new is None and old is not None:
            said.append(f"уровня {level} больше нет (был {_step(old)})")
        elif old is not None and new is not None:
            if (old.percent, old.months) != (new.percent, new.months):
                said.append(
                    f"уровень {level}: {_grant(old.percent, old.months)} → "
                    f"{_grant(new.percent, new.months)}"
                )
            if old.sms_pack != new.sms_pack:
                said.append(f"уровень {level}: {_pack(old.sms_pack)} → {_pack(new.sms_pack)}")
    if before.apply_window_months != after.apply_window_months:
        said.append(
            f"срок для кода: {months(before.apply_window_months)} → "
            f"{months(after.apply_window_months)}"
        )
    if before.max_discount_percent != after.max_discount_percent:
        said.append(
            f"наибольшая скидка: {percent(before.max_discount_percent)} → "
            f"{percent(after.max_discount_percent)}"
        )
    return tuple(said) or (SAME,)


def against_before(version: Version, published: Schedule) -> tuple[str, ...]:
    """What `version` changes against the published version in force when it starts (itself
    left out); (FIRST,) when none is."""
    others = Schedule(
        tuple(v for v in published.versions if v.terms.version != version.terms.version)
    )
    try:
        before = others.at(version.effective_from)
    except ValueError:
        return (FIRST,)
    return differences(before, version.terms)
