"""Drafts of the program's terms: validation and the preview before publishing.

Pure functions over plain values, like cabinet/referrals/rules.py (whose `referrer_reward` and
`referee_grant` the preview runs, so it judges a draft exactly the way activations will be).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from cabinet.inputs import text_problem
from cabinet.moments import YEAR_MAX, MomentOutOfRange, parse_moment, show_moment
from cabinet.program.errors import CampaignsOverlap, TermsInvalid
from cabinet.referrals.rules import (
    Grant,
    Schedule,
    Step,
    TermsNumbers,
    Version,
    add_months,
    referee_grant,
    referrer_reward,
)

MAX_LEVELS = 10
MAX_MONTHS = 120
MAX_SMS_PACK = 100_000
MAX_TITLE = 120
HORIZON_MONTHS = 12  # the preview's liability looks this far ahead
DAYS_PER_MONTH = 30  # percent-months count months of 30 days, as the dashboard does
_DIGITS = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Draft:
    """A valid draft: every number of the terms, and when they would be in force."""

    title: str
    effective_from: datetime
    ends_at: datetime | None
    referee_percent: int
    referee_months: int
    apply_window_months: int
    max_discount_percent: int
    ladder: tuple[Step, ...]

    def terms(self, version: int) -> TermsNumbers:
        return TermsNumbers(
            version=version,
            referee_percent=self.referee_percent,
            referee_months=self.referee_months,
            ladder=self.ladder,
            apply_window_months=self.apply_window_months,
            max_discount_percent=self.max_discount_percent,
        )


def _whole(
    errors: dict[str, str], values: Mapping[str, str], field: str, low: int, high: int, what: str
) -> int:
    raw = (values.get(field) or "").strip()
    if not raw:
        errors[field] = f"Укажите {what}."
        return low
    if not _DIGITS.fullmatch(raw):  # ASCII digits only, and never a number of a thousand digits
        errors[field] = f"{what[:1].upper()}{what[1:]} — целое число от {low} до {high}."
        return low
    number = int(raw)
    if not low <= number <= high:
        errors[field] = f"{what[:1].upper()}{what[1:]} — целое число от {low} до {high}."
    return number


LATEST = f"не позже {YEAR_MAX} года"


def validate(values: Mapping[str, str], now: datetime, zone: tzinfo) -> Draft:
    """The draft a manager typed, or TermsInvalid with a Russian message for each bad field.

    Fields: title, effective_from, ends_at (optional: a campaign), referee_percent,
    referee_months, apply_window_months, max_discount_percent, and for levels 1…MAX_LEVELS
    `level-N-percent`, `level-N-months`, `level-N-sms_pack` (optional); empty rows at the end
    are not levels.
    """
    errors: dict[str, str] = {}
    title = (values.get("title") or "").strip()
    title_problem = text_problem(title)  # the same guard as every other field (SafeText)
    if not title:
        errors["title"] = "Дайте версии название, например «Декабрьская акция»."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"Название — не длиннее {MAX_TITLE} символов."
    elif title_problem is not None:
        errors["title"] = f"Недопустимые символы: {title_problem}."

    # An `<input type=datetime-local>`: `2023-12-01T00:00` in the cabinet's zone.
    starts: datetime | None = None
    try:
        starts = parse_moment(values.get("effective_from") or "", zone)
    except MomentOutOfRange:
        errors["effective_from"] = f"Начало — {LATEST}."
    except ValueError:
        errors["effective_from"] = "Укажите дату и время начала, например 01.12.2026 00:00."
    if starts is not None and starts <= now:  # a version never starts before it is published
        errors["effective_from"] = (
            f"Начало не может быть в прошлом: сейчас {show_moment(now, zone)}."
        )
    raw_end = (values.get("ends_at") or "").strip()
    ends: datetime | None = None
    try:
        ends = parse_moment(raw_end, zone) if raw_end else None
    except MomentOutOfRange:
        errors["ends_at"] = f"Конец акции — {LATEST}."
    except ValueError:
        errors["ends_at"] = "Укажите дату и время конца акции или оставьте поле пустым."
    if ends is not None and starts is not None and ends <= starts:
        errors["ends_at"] = "Конец акции должен быть позже ее начала."

    referee_percent = _whole(errors, values, "referee_percent", 1, 100, "скидку новому клиенту")
    referee_months = _whole(errors, values, "referee_months", 1, MAX_MONTHS, "срок в месяцах")
    window = _whole(errors, values, "apply_window_months", 1, MAX_MONTHS, "срок для кода")
    cap = _whole(errors, values, "max_discount_percent", 1, 100, "наибольшую скидку")

    steps: list[Step] = []
    gap_at: int | None = None
    for level in range(1, MAX_LEVELS + 1):
        names = [f"level-{level}-{part}" for part in ("percent", "months", "sms_pack")]
        if not any((values.get(name) or "").strip() for name in names):
            gap_at = gap_at or level
            continue
        if gap_at is not None:
            errors[names[0]] = f"Уровни идут подряд: заполните уровень {gap_at} или удалите этот."
            continue
        percent = _whole(errors, values, names[0], 1, 100, f"скидку уровня {level}")
        months = _whole(errors, values, names[1], 1, MAX_MONTHS, f"срок уровня {level}")
        raw_pack = (values.get(names[2]) or "").strip()
        pack = None
        if raw_pack:
            pack = _whole(errors, values, names[2], 1, MAX_SMS_PACK, f"пакет SMS уровня {level}")
            if pack in {s.sms_pack for s in steps}:
                errors[names[2]] = f"Пакет из {pack} SMS уже есть на другом уровне."
        if steps and percent < steps[-1].percent and names[0] not in errors:
            errors[names[0]] = (
                f"Скидка уровня {level} не может быть меньше, чем у уровня {level - 1} "
                f"({steps[-1].percent}%)."
            )
        steps.append(Step(level, percent, months, pack))
    if not steps and "level-1-percent" not in errors:
        errors["level-1-percent"] = "Нужен хотя бы один уровень лестницы."

    if errors or starts is None:
        raise TermsInvalid(errors)
    return Draft(title, starts, ends, referee_percent, referee_months, window, cap, tuple(steps))


def values_of(terms: TermsNumbers, title: str, effective_from: str, ends_at: str) -> dict[str, str]:
    """The editor's fields filled from terms (to start a draft from the terms in force)."""
    values = {
        "title": title,
        "effective_from": effective_from,
        "ends_at": ends_at,
        "referee_percent": str(terms.referee_percent),
        "referee_months": str(terms.referee_months),
        "apply_window_months": str(terms.apply_window_months),
        "max_discount_percent": str(terms.max_discount_percent),
    }
    for s in terms.ladder:
        values[f"level-{s.level}-percent"] = str(s.percent)
        values[f"level-{s.level}-months"] = str(s.months)
        values[f"level-{s.level}-sms_pack"] = "" if s.sms_pack is None else str(s.sms_pack)
    return values


# ---- the preview ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MemberLadder:
    """What the ladder rule needs to know about one member."""

    client_id: int
    running: Grant | None  # the latest referrer grant held (not voided)
    referred: int  # lifetime count of referred clients (revoked ones left out)
    packs_held: tuple[int, ...]


@dataclass(frozen=True)
class Difference:
    client_id: int
    before: Grant  # the next referral's reward under the terms that would be in force
    after: Grant  # under the draft


def check_campaigns(schedule: Schedule, draft: Version, zone: tzinfo) -> None:
    """A campaign may not overlap a published campaign: which one applied would be a guess."""
    if not draft.campaign:
        return
    for other in schedule.overlapping(draft):
        raise CampaignsOverlap(
            draft.terms.version, other.terms.version, other.title, period(other, zone)
        )


def schedule_notes(schedule: Schedule, draft: Version, zone: tzinfo) -> tuple[str, ...]:
    """What the preview says about where the draft falls among the published versions: when
    regular terms starting during a campaign take effect; a campaign that would overlap one."""
    notes: list[str] = []
    takes_effect = schedule.takes_effect(draft)
    if takes_effect != draft.effective_from:
        waits_for = [c for c in schedule.campaigns() if c.ends_at == takes_effect]
        named = f"акция «{waits_for[0].title}» (версия {waits_for[0].terms.version})"
        notes.append(
            f"Начало {show_moment(draft.effective_from, zone)} приходится на акцию: {named} "
            f"действует до конца, эта версия вступит в силу {show_moment(takes_effect, zone)}."
        )
    if draft.campaign:
        try:
            check_campaigns(schedule, draft, zone)
        except CampaignsOverlap as clash:
            notes.append(clash.message)
    return tuple(notes)


def period(version: Version, zone: tzinfo) -> str:
    """«с 01.04.2023 00:00 до 01.05.2023 00:00» (or without an end)."""
    text = f"с {show_moment(version.effective_from, zone)}"
    if version.ends_at is not None:
        text += f" до {show_moment(version.ends_at, zone)}"
    return text


@dataclass(frozen=True)
class Preview:
    """What publishing the draft would change, judged at the moment it takes effect (its
    start, or for regular terms that start during a campaign, the campaign's end)."""

    at: datetime
    members: int
    different: tuple[Difference, ...]  # members whose next referral gets a different discount
    referrer_change: float  # percent-months within the horizon, draft minus current
    referee_change: float
    notes: tuple[str, ...] = ()  # where the draft falls among the published versions

    @property
    def total_change(self) -> float:
        return round(self.referrer_change + self.referee_change, 1)


def percent_months(grant: Grant, start: datetime, end: datetime) -> float:
    """The grant's discount within [start, end), in percent-months (30-day months)."""
    lasts = min(grant.ends_at, end) - max(grant.starts_at, start)
    return grant.percent * max(lasts, timedelta(0)) / timedelta(days=DAYS_PER_MONTH)


def preview(
    members: Iterable[MemberLadder],
    current: TermsNumbers,
    draft: TermsNumbers,
    at: datetime,
    zone: tzinfo,
) -> Preview:
    """If every member's next referral happened at `at` (when the draft starts): whose reward
    would differ from the one under `current` (the terms that would otherwise be in force),
    and how the discount owed over the next HORIZON_MONTHS would change, in percent-months —
    the referrers' rewards, and the welcome discount of the client each of them brings."""
    horizon = add_months(at, HORIZON_MONTHS, zone)
    different: list[Difference] = []
    referrer_change = 0.0
    count = 0
    for member in members:
        count += 1
        before = referrer_reward(
            member.running, member.referred, member.packs_held, at, zone, current
        ).grant
        after = referrer_reward(
            member.running, member.referred, member.packs_held, at, zone, draft
        ).grant
        if (before.percent, before.ends_at) != (after.percent, after.ends_at):
            different.append(Difference(member.client_id, before, after))
        referrer_change += percent_months(after, at, horizon) - percent_months(before, at, horizon)
    welcome = percent_months(referee_grant(at, None, zone, draft), at, horizon) - percent_months(
        referee_grant(at, None, zone, current), at, horizon
    )
    return Preview(
        at=at,
        members=count,
        different=tuple(different),
        referrer_change=round(referrer_change, 1),
        referee_change=round(welcome * count, 1),
    )
