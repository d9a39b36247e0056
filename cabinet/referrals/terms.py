"""The program's terms as the customer reads them, built from the terms in force (a version of
`rules.TermsNumbers`; the help page's are version 1).

Pages, the share dialog, the flash messages and the invitation texts take their numbers and
phrases from here; none of them types a rule number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from functools import cache

from cabinet.moments import show_date, show_moment
from cabinet.referrals import rules
from cabinet.texts import months, months_for, months_within, number, percent


@dataclass(frozen=True)
class TermsWording:
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
def words(terms: rules.TermsNumbers) -> TermsWording:
    """The words of one version (computed once per version)."""
    steps = [s.percent for s in terms.ladder]
    rises = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    return TermsWording(
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


# ---- the terms in force as the client's page tells them: a campaign, the ladder, the version
# a grant was made under. One place for every sentence with a number, a date or a level.


def ladder_intro(terms: rules.TermsNumbers) -> str:
    """The sentence above «Таблица скидок». The help page's own when every level adds the
    first level's percent; otherwise what the first client gives and what the next ones do."""
    w = words(terms)
    steps = [s.percent for s in terms.ladder]
    rises = {b - a for a, b in zip(steps, steps[1:], strict=False)}
    if rises <= {steps[0]}:
        return (
            f"Вы получаете скидку {w.step_percent} за каждого нового клиента, который "
            "зарегистрирует ваш код. Если у вас уже есть действующая скидка за приведенных "
            f"клиентов, скидка будет {w.raise_by}."
        )
    return (
        f"За первого нового клиента, который зарегистрирует ваш код, вы получаете скидку "
        f"{w.step_percent}. Каждый следующий, пока скидка за приведенных клиентов действует, "
        "поднимает ее до следующего уровня «Таблицы скидок» и продлевает ее."
    )


@dataclass(frozen=True)
class StepWords:
    """One row of «Таблица скидок» in words."""

    clients: str  # «1»
    percent: str  # «20 %»
    duration: str  # «3 месяца»
    bonus: str  # «пакет из 1 200 SMS», or ""
    regular: str  # during a campaign, the regular terms' row where it differs: «обычно 20 %»


def _percent_for(percent_: int, months_: int) -> str:
    return f"{percent(percent_)} на {months(months_)}"


def step_words(step: rules.Step, regular: rules.TermsNumbers | None) -> StepWords:
    """A row; `regular` are the terms that apply again when a campaign in force ends."""
    note = ""
    if regular is not None:
        if step.level > regular.top_level:
            note = "только по условиям акции"
        else:
            usual = regular.step(step.level)
            if usual.percent != step.percent:
                note = f"обычно {percent(usual.percent)}"
            if usual.months != step.months:
                note = f"обычно {_percent_for(usual.percent, usual.months)}"
    return StepWords(
        str(step.level),
        percent(step.percent),
        months(step.months),
        "" if step.sms_pack is None else sms_pack(step.sms_pack),
        note,
    )


def campaign_until(ends_at: datetime, zone: tzinfo) -> str:
    """A campaign's end as a person reads it: the last day «включительно» when it ends at
    midnight, else the moment it ends."""
    local = ends_at.astimezone(zone)
    if (local.hour, local.minute) == (0, 0):
        return f"{show_date(ends_at - timedelta(minutes=1), zone)} включительно"
    return show_moment(ends_at, zone)


def _level_changes(campaign: rules.TermsNumbers, regular: rules.TermsNumbers) -> list[str]:
    changes = []
    for step in campaign.ladder:
        if step.level > regular.top_level:
            changes.append(f"на уровне {step.level} — {percent(step.percent)} (новый уровень)")
            continue
        usual = regular.step(step.level)
        if (usual.percent, usual.months) == (step.percent, step.months):
            continue
        if usual.months == step.months:
            now_, then = percent(step.percent), percent(usual.percent)
        else:
            now_, then = (
                _percent_for(step.percent, step.months),
                _percent_for(usual.percent, usual.months),
            )
        who = "за первого клиента" if step.level == 1 else f"на уровне {step.level} —"
        changes.append(f"{who} {now_} (обычно {then})")
    if (campaign.referee_percent, campaign.referee_months) != (
        regular.referee_percent,
        regular.referee_months,
    ):
        changes.append(
            "новому клиенту по коду — "
            f"{_percent_for(campaign.referee_percent, campaign.referee_months)} "
            f"(обычно {_percent_for(regular.referee_percent, regular.referee_months)})"
        )
    return changes


def campaign_headline(version: rules.Version, regular: rules.TermsNumbers, zone: tzinfo) -> str:
    """«Акция до 19.12.2026 включительно: за первого клиента 30 % (обычно 20 %).» — what the
    campaign in force changes, and until when; the regular terms apply again after it."""
    if version.ends_at is None:
        raise ValueError("a campaign has an end")
    changes = _level_changes(version.terms, regular) or ["особые условия программы"]
    return f"Акция до {campaign_until(version.ends_at, zone)}: " + ", ".join(changes) + "."


def campaign_note(campaign_ends_at: datetime | None, zone: tzinfo) -> str:
    """A history row made under a campaign names it, during the campaign and after it (beside
    a table of other terms its level reads otherwise): «по условиям акции до 19.12.2026
    включительно»; a row of regular terms, nothing."""
    if campaign_ends_at is None:
        return ""
    return f"по условиям акции до {campaign_until(campaign_ends_at, zone)}"


def regular_after(campaign: rules.Version, schedule: rules.Schedule) -> rules.TermsNumbers:
    """The terms that apply when `campaign` ends (the regular ones)."""
    if campaign.ends_at is None:
        raise ValueError("a campaign has an end")
    return schedule.at(campaign.ends_at)


def welcome_lines(terms: rules.TermsNumbers) -> tuple[str, ...]:
    """A member with no discount yet and no friend brought: the offer and the next step, in
    place of a bare «0 %»."""
    first = terms.ladder[0]
    best = min(terms.max_discount_percent, max(s.percent for s in terms.ladder))
    lines = [
        f"Пригласите друга: когда он применит ваш код, вы получите скидку "
        f"{percent(first.percent)} на {months(first.months)}."
    ]
    if terms.top_level > 1:
        lines.append(
            "Каждый следующий друг, пока скидка действует, поднимает ее по «Таблице скидок» — "
            f"до {percent(best)}."
        )
    lines.append("Нажмите «Пригласить» — кабинет отправит другу SMS или письмо с вашим кодом.")
    return tuple(lines)


def timeline_words(stretches: tuple[rules.Stretch, ...], zone: tzinfo) -> str:
    """«X % до D1, затем Y % до D2»; a stretch without a discount between two
    with one: «затем скидки не будет до …». Dates alone, unless two ends fall on one day: then
    moments, so that no two steps read alike."""
    parts = []
    for i, stretch in enumerate(stretches):
        until = until_words(stretches, i, zone)
        if stretch.percent:
            parts.append(f"{percent(stretch.percent)} до {until}")
        else:
            parts.append(f"скидки не будет до {until}")
    return ", затем ".join(parts)


def until_words(stretches: tuple[rules.Stretch, ...], i: int, zone: tzinfo) -> str:
    """The end of stretch `i`: a date, or a moment where two stretches end on one day."""
    days = [show_date(s.until, zone) for s in stretches]
    if len(set(days)) < len(days):
        return show_moment(stretches[i].until, zone)
    return days[i]
