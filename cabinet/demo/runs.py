"""Stories played: «Начать» makes a run with fresh clients, each step goes through one table of
handlers, and the board is what «Сценарии» shows.

«Начать» makes new clients (new ids, after every id in use) and remembers them in a `DemoRun`;
nothing else is touched, so any story may be started again at any time, in any order. Each step
goes through the same services as everything else (applying a code on the client's behalf, the
time machine, publishing terms, revoking a referral), so each is in the audit log. A step's
«done» is read from the data where it can be (a code applied by hand in the cabinet counts),
else from the run.

Every text is worded from the terms in force (cabinet/demo/words.py). A story that cannot be
shown under them says why on its card, and «Начать» is not offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select

from cabinet.audit import services as audit
from cabinet.clients.models import Client
from cabinet.clients.services import NewClient, create_client
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.demo import time_machine
from cabinet.demo.clock import DemoClock, NotInDemoMode
from cabinet.demo.models import DemoRun
from cabinet.demo.stories import (
    BY_KEY,
    CAMPAIGN_DAYS,
    CAMPAIGN_TITLE,
    OPENS,
    STORIES,
    Role,
    Step,
    StepKind,
    Story,
    campaign_period,
    campaign_terms,
)
from cabinet.demo.words import CampaignWords, campaign_words, invited, rule_words
from cabinet.errors import ProgramRefusal
from cabinet.moments import show_date, show_moment
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referrals import queries, rules
from cabinet.referrals import services as referral_services
from cabinet.referrals.models import Grant, Member, ProgramTerms, Referral
from cabinet.referrals.on_behalf import apply_code_for_client
from cabinet.referrals.revocation import revoke_referral
from cabinet.referrals.terms import sms_pack
from cabinet.texts import percent

# Scenario clients get ids after every id in use, from here up (the seed uses 400–411).
FIRST_SCENARIO_ID = 1001


class UnknownStory(ProgramRefusal):
    message = "Такого сценария нет."


class StaleRun(ProgramRefusal):
    message = "Сценарий начат заново: обновленная страница — ниже. Повторите шаг."


class StepNotReady(ProgramRefusal):
    pass


class StoryUnavailable(ProgramRefusal):
    pass


def story(key: str) -> Story:
    found = BY_KEY.get(key)
    if found is None:
        raise UnknownStory()
    return found


def _require_demo(context: Context) -> None:
    if not isinstance(context.clock, DemoClock):
        raise NotInDemoMode()


# ---- the terms a story is told under -------------------------------------------------------


def _campaign(run: DemoRun | None, context: Context) -> CampaignWords:
    """The campaign of the run, once published; before that, the one the step would publish."""
    now = context.clock.now()
    row = (
        None
        if run is None or run.terms_version is None
        else db.session.get(ProgramTerms, run.terms_version)
    )
    if row is None or row.ends_at is None:
        regular = queries.terms_at(now)
        starts, ends = campaign_period(now, context.timezone)
        return CampaignWords(regular, campaign_terms(regular), starts, ends, CAMPAIGN_DAYS)
    return CampaignWords(
        queries.schedule().at(row.ends_at),
        row.as_terms(),
        row.effective_from,
        row.ends_at,
        CAMPAIGN_DAYS,
    )


def _words(chosen: Story, run: DemoRun | None, context: Context) -> dict[str, str]:
    if chosen.key == "season":
        return campaign_words(_campaign(run, context), context.timezone)
    return rule_words(queries.terms_at(context.clock.now()))


def why_not(chosen: Story, context: Context) -> str:
    """Why the story cannot be shown under the terms in force and ahead; empty if it can."""
    if chosen.key != "season":
        return ""
    now = context.clock.now()
    zone = context.timezone
    own = set(db.session.scalars(select(DemoRun.terms_version).where(DemoRun.story == "season")))
    for version in queries.schedule().versions:
        if version.terms.version in own:
            continue  # a campaign of an earlier run of this story
        if version.ends_at is not None and version.ends_at > now:
            state = "действует" if version.effective_from <= now else "предстоит"
            return (
                f"Сейчас {state} акция «{version.title}» до {show_moment(version.ends_at, zone)}: "
                "акция сценария наложилась бы на нее. Начните сценарий после ее конца (машина "
                "времени на «Обзоре программы»)."
            )
    regular = queries.terms_at(now)
    if campaign_terms(regular) == regular:
        return (
            "Условия в силе не оставляют места для акции: за первого клиента уже столько же, "
            "сколько за второго, и самый долгий срок."
        )
    return ""


# ---- starting a story ----------------------------------------------------------------------


def _domain(role: Role, client_id: int, ids: dict[str, int], roles: dict[str, Role]) -> str:
    if role.domain_of is not None:
        owner = roles[role.domain_of]
        return f"{owner.slug}-{ids[owner.key]}.ru"
    return f"{role.slug}-{client_id}.ru"


def _phone(client_id: int) -> str:
    # A bijection of the id onto seven digits: every demo client has a number of its own.
    digits = f"{(1_234_567 + client_id * 7_919) % 10_000_000:07d}"
    return f"+7 495 {digits[:3]}-{digits[3:5]}-{digits[5:]}"


def _next_id() -> int:
    highest = db.session.scalar(select(func.max(Client.id))) or 0
    return max(highest + 1, FIRST_SCENARIO_ID)


def _registered(context: Context, role: Role) -> datetime:
    now = context.clock.now()
    if role.window_closes_in_days is None:
        return now - timedelta(days=role.registered_days_ago)
    # so that its window for a code (the terms' months) closes that many days from now
    window = queries.terms_at(now).apply_window_months
    closes = now + timedelta(days=role.window_closes_in_days)
    return rules.add_months(closes, -window, context.timezone)


def _create(context: Context, role: Role, ids: dict[str, int], roles: dict[str, Role]) -> int:
    client_id = _next_id()
    registered = _registered(context, role)
    promo = None if role.promo_days is None else registered + timedelta(days=role.promo_days)
    create_client(
        NewClient(
            client_id,
            role.name,
            registered,
            promo,
            f"{role.mailbox}@{_domain(role, client_id, ids, roles)}",
            _phone(client_id),
        )
    )
    return client_id


def title_of(key: str, context: Context) -> str:
    """The story's title under the terms in force (for «… начат» and the log)."""
    chosen = story(key)
    return chosen.title.format_map(_words(chosen, latest_run(key), context))


def start(context: Context, manager_id: int, key: str) -> DemoRun:
    """Fresh clients for the story at the cabinet's time; its earlier runs stay as they were."""
    _require_demo(context)
    chosen = story(key)
    reason = why_not(chosen, context)
    if reason:
        raise StoryUnavailable(reason)
    roles = {role.key: role for role in chosen.roles}
    ids: dict[str, int] = {}
    for role in chosen.roles:
        if not role.later:
            ids[role.key] = _create(context, role, ids, roles)
    for role in chosen.roles:
        if role.member:
            referral_services.join(context, ids[role.key])
    with transaction():
        run = DemoRun(story=key, started_at=context.clock.now(), clients=ids, steps_done=[])
        db.session.add(run)
        audit.record(
            context.clock.now(),
            manager_id,
            "scenario_start",
            reason=chosen.title.format_map(_words(chosen, None, context)),
            details={"story": key, "clients": ids},
        )
    return run


def latest_run(key: str) -> DemoRun | None:
    return db.session.scalars(
        select(DemoRun).where(DemoRun.story == key).order_by(DemoRun.id.desc()).limit(1)
    ).first()


# ---- performing a step: one table of handlers ----------------------------------------------


@dataclass(frozen=True)
class Outcome:
    message: str
    ok: bool  # False: a refusal the story shows on purpose («try_apply»)
    open_client: int | None = None  # open this client's cabinet
    show_client: int | None = None  # show this client's card in the panel
    show_terms: bool = False  # show «Условия программы»


@dataclass
class Play:
    """One step being performed: the run, its clients and what the handlers need."""

    context: Context
    manager_id: int
    chosen: Story
    run: DemoRun
    step: Step
    ids: dict[str, int]

    @property
    def names(self) -> dict[str, str]:
        return _names(self.chosen, self.ids)

    @property
    def reason(self) -> str:
        title = self.chosen.title.format_map(_words(self.chosen, self.run, self.context))
        return f"Демо-сценарий «{title}»"

    def apply(self, role: str, referrer: str) -> None:
        code = db.session.scalar(select(Member.code).where(Member.client_id == self.ids[referrer]))
        if code is None:  # pragma: no cover - the story's referrer joins at the start
            raise StepNotReady("У реферера нет кода.")
        apply_code_for_client(self.context, self.manager_id, self.ids[role], code, self.reason)


def _open(play: Play) -> Outcome:
    role = play.step.role
    return Outcome(f"Кабинет клиента {play.names[role]}", True, open_client=play.ids[role])


def _card(play: Play) -> Outcome:
    return Outcome("", True, show_client=play.ids[play.step.role])


def _terms(play: Play) -> Outcome:
    return Outcome("", True, show_terms=True)


def _apply(play: Play) -> Outcome:
    play.apply(play.step.role, play.step.referrer)
    names = play.names
    return Outcome(f"{names[play.step.role]} применил код {names[play.step.referrer]}.", True)


def _try_apply(play: Play) -> Outcome:
    try:
        play.apply(play.step.role, play.step.referrer)
    except ProgramRefusal as refusal:
        return Outcome(f"Отказ: {refusal.message}", False)
    return Outcome("Код применен: окно еще не закрылось.", True)


def _burst(play: Play) -> Outcome:
    for role in play.step.roles:
        play.apply(role, play.step.referrer)
    names = play.names
    return Outcome(f"Коды применены: {', '.join(names[r] for r in play.step.roles)}.", True)


def _jump(play: Play) -> Outcome:
    shown = time_machine.move_clock(play.context, play.manager_id, play.step.jump)
    return Outcome(_clock_message(shown, play.context), True)


def _jump_past(play: Play) -> Outcome:
    role = play.step.role
    ends: datetime | None = db.session.scalar(
        select(func.max(Grant.ends_at)).where(
            Grant.client_id == play.ids[role],
            Grant.reason == "referrer",
            Grant.revoked_at.is_(None),
        )
    )
    if ends is None:
        raise StepNotReady(
            f"У {play.names[role]} нет скидки за приведенных клиентов: сначала шаги выше."
        )
    return _go_to_day_after(play, ends)


def _newcomer(play: Play) -> Outcome:
    role = play.step.role
    if role not in play.ids:
        roles = {r.key: r for r in play.chosen.roles}
        play.ids[role] = _create(play.context, roles[role], play.ids, roles)
        with transaction():
            fresh = db.session.get(DemoRun, play.run.id, populate_existing=True)
            if fresh is None:  # pragma: no cover - the run was read above
                raise StaleRun()
            fresh.clients = dict(play.ids)
    play.apply(role, play.step.referrer)
    return Outcome(f"{play.names[role]} зарегистрирован и применил код.", True)


def _revoke(play: Play) -> Outcome:
    role = play.step.role
    referral_id = db.session.scalar(
        select(Referral.id).where(Referral.referee_id == play.ids[role])
    )
    if referral_id is None:
        raise StepNotReady(f"{play.names[role]} еще не применял код: сначала шаги выше.")
    revoke_referral(
        play.context, play.manager_id, referral_id, f"{play.reason}: всплеск с одного домена"
    )
    return Outcome(f"Реферал {play.names[role]} отменен, скидки пересчитаны.", True)


def _publish_campaign(play: Play) -> Outcome:
    """The campaign over the terms in force, saved and published as a manager would in
    «Условия программы» (so the right, the checks and the log are the same)."""
    if play.run.terms_version is not None:
        raise StepNotReady("Акция этого запуска уже опубликована: следующий шаг — ниже.")
    reason = why_not(play.chosen, play.context)
    if reason:
        raise StepNotReady(reason)
    campaign = _campaign(None, play.context)
    zone = play.context.timezone
    values = terms_rules.values_of(
        campaign.campaign,
        CAMPAIGN_TITLE,
        campaign.starts.astimezone(zone).replace(tzinfo=None).isoformat(),
        campaign.ends.astimezone(zone).replace(tzinfo=None).isoformat(),
    )
    version = terms_services.save_draft(play.context, play.manager_id, None, values)
    terms_services.publish(play.context, play.manager_id, version, confirmed=True)
    with transaction():
        fresh = db.session.get(DemoRun, play.run.id, populate_existing=True)
        if fresh is None:  # pragma: no cover - the run was read above
            raise StaleRun()
        fresh.terms_version = version
    return Outcome(
        f"Акция опубликована (версия {version}): с {show_moment(campaign.starts, zone)} "
        f"до {show_moment(campaign.ends, zone)}.",
        True,
    )


def _campaign_over(play: Play) -> Outcome:
    if play.run.terms_version is None:
        raise StepNotReady("Акция еще не опубликована: сначала шаг «Опубликовать акцию».")
    return _go_to_day_after(play, _campaign(play.run, play.context).ends)


HANDLERS: dict[StepKind, Callable[[Play], Outcome]] = {
    "open": _open,
    "card": _card,
    "terms": _terms,
    "apply": _apply,
    "try_apply": _try_apply,
    "burst": _burst,
    "jump": _jump,
    "jump_past": _jump_past,
    "newcomer": _newcomer,
    "revoke": _revoke,
    "campaign": _publish_campaign,
    "campaign_over": _campaign_over,
}


def perform(context: Context, manager_id: int, key: str, run_id: int, index: int) -> Outcome:
    """Step `index` of the latest run of story `key` (`run_id` guards against a stale page)."""
    _require_demo(context)
    chosen = story(key)
    run = latest_run(key)
    if run is None or run.id != run_id:
        raise StaleRun()
    if not 0 <= index < len(chosen.steps):
        raise UnknownStory()
    step = chosen.steps[index]
    ids = {k: int(v) for k, v in run.clients.items()}
    outcome = HANDLERS[step.kind](Play(context, manager_id, chosen, run, step, ids))
    _mark_done(run.id, index)
    return outcome


def _go_to_day_after(play: Play, moment: datetime) -> Outcome:
    """The time machine to the day after `moment` (the cabinet's calendar), same time of day."""
    context = play.context
    day = (moment.astimezone(context.timezone) + timedelta(days=1)).date()
    shown = time_machine.move_clock(context, play.manager_id, "date", day)
    return Outcome(_clock_message(shown, context), True)


def _clock_message(shown: datetime, context: Context) -> str:
    return f"Время кабинета: {show_moment(shown, context.timezone)}"


def _mark_done(run_id: int, index: int) -> None:
    with transaction():
        run = db.session.get(DemoRun, run_id, populate_existing=True)
        if run is not None and index not in run.steps_done:
            run.steps_done = [*run.steps_done, index]


def _names(chosen: Story, ids: dict[str, int]) -> dict[str, str]:
    names = {}
    for role in chosen.roles:
        client_id = ids.get(role.key)
        names[role.key] = f"{client_id} «{role.name}»" if client_id else f"«{role.name}»"
    return names


# ---- the board -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StepView:
    index: int
    label: str
    look: str
    kind: StepKind
    done: bool
    note: str  # why it cannot be done now, if it cannot

    @property
    def opens(self) -> bool:
        return self.kind in OPENS


@dataclass(frozen=True)
class StoryView:
    key: str
    title: str
    summary: str
    run_id: int | None
    started: str
    steps: tuple[StepView, ...]
    standing: tuple[str, ...]  # «Сейчас»: the watched clients as the client sees them
    unavailable: str  # why the story cannot be shown under the terms in force


def story_view(chosen: Story, context: Context) -> StoryView:
    now = context.clock.now()
    zone = context.timezone
    terms = queries.terms_at(now)
    run = latest_run(chosen.key)
    words = _words(chosen, run, context)
    ids = {} if run is None else {k: int(v) for k, v in run.clients.items()}
    texts = {**words, **_names(chosen, ids)}
    steps = tuple(
        StepView(
            i,
            s.label.format_map(texts),
            s.look.format_map(texts),
            s.kind,
            run is not None and (i in run.steps_done or _done_in_data(s, ids, run)),
            "" if run is None else _note(s, ids, now, context, terms),
        )
        for i, s in enumerate(chosen.steps)
    )
    standing = tuple(
        _standing_line(ids[role], texts[role], now, zone, terms)
        for role in chosen.watch
        if role in ids
    )
    return StoryView(
        chosen.key,
        chosen.title.format_map(words),
        chosen.summary.format_map(words),
        None if run is None else run.id,
        "" if run is None else show_moment(run.started_at, zone),
        steps,
        standing,
        why_not(chosen, context) if run is None else "",
    )


def board(context: Context) -> list[StoryView]:
    return [story_view(chosen, context) for chosen in STORIES]


def _done_in_data(step: Step, ids: dict[str, int], run: DemoRun | None = None) -> bool:
    """A code applied by hand in the client's cabinet counts as the step done; so does the
    campaign, published."""
    if step.kind == "campaign":
        return run is not None and run.terms_version is not None
    if step.kind in ("apply", "newcomer") and step.role in ids:
        return (
            db.session.scalar(select(Referral.id).where(Referral.referee_id == ids[step.role]))
            is not None
        )
    return False


def _note(
    step: Step, ids: dict[str, int], now: datetime, context: Context, terms: rules.TermsNumbers
) -> str:
    if step.kind != "apply" or step.role not in ids:
        return ""
    client = db.session.get(Client, ids[step.role])
    if client is None:
        return ""
    deadline = rules.apply_deadline(client.registered_at, context.timezone, terms)
    if now > deadline and not _done_in_data(step, ids):
        return (
            f"Окно для кода закрылось {show_date(deadline, context.timezone)} (время кабинета "
            "сдвинуто): нажмите «Начать заново»."
        )
    return ""


def _standing_line(
    client_id: int, name: str, now: datetime, zone: tzinfo, terms: rules.TermsNumbers
) -> str:
    standing = queries.standing(client_id, now, terms)
    parts = [f"скидка {percent(standing.discount_percent)}"]
    parts += [f"{percent(g.percent)} с {show_date(g.starts_at, zone)}" for g in standing.upcoming]
    if standing.referred_count:
        parts.append(invited(standing.referred_count))
        parts += [sms_pack(p.size) for p in queries.sms_packs(client_id)]
    if not standing.member:
        parts.append("не участвует")
    return f"{name}: " + ", ".join(parts)
