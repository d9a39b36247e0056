"""Demo scenarios («Сценарии», demo mode only): each story prepares fresh clients and walks
through the program's rules in a few clicks, at the cabinet's current (demo) time.

«Начать» makes new clients (new ids, after every id in use) and remembers them in a `DemoRun`;
nothing else is touched, so any story may be started again at any time, in any order. Each step
goes through the same services as everything else (applying a code on the client's behalf, the
time machine, revoking a referral), so each is in the audit log; a step «Открыть как клиент»
opens that client's cabinet in the same browser. A step's «done» is read from the data where it
can be (a code applied by hand in the cabinet counts), else from the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal

from sqlalchemy import func, select

from cabinet.audit import services as audit
from cabinet.clients.models import Client
from cabinet.clients.services import NewClient, create_client
from cabinet.clock import Program
from cabinet.db import db, transaction
from cabinet.demo import DemoRun
from cabinet.demo_clock import DemoClock
from cabinet.errors import ProgramRefusal
from cabinet.manage import services, time_machine
from cabinet.moments import show_date, show_moment
from cabinet.program import rules as terms_rules
from cabinet.program import services as terms_services
from cabinet.referrals import queries, rules
from cabinet.referrals import services as referral_services
from cabinet.referrals.models import Grant, Member, ProgramTerms, Referral
from cabinet.referrals.revocation import revoke_referral
from cabinet.referrals.terms import sms_pack
from cabinet.texts import invited_word, months, percent, plural

# Scenario clients get ids after every id in use, from here up (the seed uses 400–411).
FIRST_SCENARIO_ID = 1001

StepKind = Literal[
    "open",
    "card",
    "terms",
    "apply",
    "try_apply",
    "burst",
    "jump",
    "jump_past",
    "newcomer",
    "revoke",
    "campaign",
    "campaign_over",
]

# The campaign of «Сезонная акция»: from the next midnight of the cabinet's time, two weeks.
CAMPAIGN_DAYS = 14
CAMPAIGN_TITLE = "Сезонная акция (демо-сценарий)"


class UnknownStory(ProgramRefusal):
    message = "Такого сценария нет."


class StaleRun(ProgramRefusal):
    message = "Сценарий начат заново: обновленная страница — ниже. Повторите шаг."


class StepNotReady(ProgramRefusal):
    pass


@dataclass(frozen=True)
class Role:
    """A client a story needs: a company with its own domain and phone."""

    key: str
    name: str
    slug: str
    registered_days_ago: int = 2
    promo_days: int | None = None
    member: bool = False  # joins the program at the start («У меня нет кода»)
    mailbox: str = "info"
    domain_of: str | None = None  # uses this role's domain (the fraud story, on purpose)
    later: bool = False  # made by a step («новый клиент регистрируется …»), not at the start


@dataclass(frozen=True)
class Step:
    kind: StepKind
    label: str  # {R}-style places for the clients, {p1}…{p5} and the like for the rules
    look: str  # what to look at after the step
    role: str = ""  # the client the step is about
    referrer: str = ""  # whose code it applies
    jump: time_machine.Jump = "day"
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    summary: str
    roles: tuple[Role, ...]
    steps: tuple[Step, ...]
    watch: tuple[str, ...] = field(default=())  # roles whose standing the card shows


def _rule_words(terms: rules.Terms) -> dict[str, str]:
    """The numbers of the terms in force, for the stories' texts (never typed there)."""
    words = {
        "ref_p": percent(terms.referee_percent),
        "ref_m": months(terms.referee_months),
        "window": months(terms.apply_window_months),
        "p0": percent(0),
        "max": percent(terms.max_discount_percent),
    }
    for s in terms.ladder:
        words[f"p{s.level}"] = percent(s.percent)
        words[f"m{s.level}"] = months(s.months)
        if s.sms_pack is not None:
            words[f"sms{s.level}"] = sms_pack(s.sms_pack)
    return words


def campaign_terms(regular: rules.Terms) -> rules.Terms:
    """«Сезонная акция» over the regular terms: the first level's discount doubled, no more
    than the next level's and the cap (the ladder stays in order); where that changes nothing,
    the first level's months doubled instead."""
    first = regular.ladder[0]
    ceiling = regular.max_discount_percent
    if len(regular.ladder) > 1:
        ceiling = min(ceiling, regular.ladder[1].percent)
    raised = max(first.percent, min(first.percent * 2, ceiling))
    longer = first.months
    if raised == first.percent:
        longer = min(first.months * 2, terms_rules.MAX_MONTHS)
    return replace(
        regular, ladder=(replace(first, percent=raised, months=longer), *regular.ladder[1:])
    )


def campaign_period(now: datetime, zone: tzinfo) -> tuple[datetime, datetime]:
    """From the next midnight of the cabinet's time, for CAMPAIGN_DAYS days."""
    day = now.astimezone(zone).date() + timedelta(days=1)
    starts = datetime.combine(day, time(0), zone).astimezone(UTC)
    ends = datetime.combine(day + timedelta(days=CAMPAIGN_DAYS), time(0), zone).astimezone(UTC)
    return starts, ends


@dataclass(frozen=True)
class Campaign:
    regular: rules.Terms  # in force before and after it
    terms: rules.Terms
    starts: datetime
    ends: datetime


def _campaign(run: DemoRun | None, program: Program) -> Campaign:
    """The campaign of the run, once published; before that, the one the step would publish."""
    now = program.clock.now()
    row = (
        None
        if run is None or run.terms_version is None
        else db.session.get(ProgramTerms, run.terms_version)
    )
    if row is None or row.ends_at is None:
        regular = queries.terms_at(now)
        return Campaign(regular, campaign_terms(regular), *campaign_period(now, program.timezone))
    return Campaign(
        queries.schedule().at(row.ends_at), row.as_terms(), row.effective_from, row.ends_at
    )


def _campaign_words(campaign: Campaign, zone: tzinfo) -> dict[str, str]:
    first = campaign.terms.ladder[0]
    return {
        **_rule_words(campaign.regular),
        "cp1": percent(first.percent),
        "cm1": months(first.months),
        "cstart": show_moment(campaign.starts, zone),
        "cend": show_moment(campaign.ends, zone),
        "cdays": f"{CAMPAIGN_DAYS} {plural(CAMPAIGN_DAYS, 'день', 'дня', 'дней')}",
    }


def _words(chosen: Story, run: DemoRun | None, program: Program) -> dict[str, str]:
    if chosen.key == "season":
        return _campaign_words(_campaign(run, program), program.timezone)
    return _rule_words(queries.terms_at(program.clock.now()))


STORIES: tuple[Story, ...] = (
    Story(
        "promo",
        "Скидка после промо-периода",
        "Новый клиент применяет код друга; его скидка ждет конца промо-периода.",
        (
            Role("R", "Вектор", "vektor", 200, member=True),
            Role("N", "Гранит", "granit", 3, promo_days=14),
        ),
        (
            Step(
                "open",
                "Открыть как клиент {N}",
                "До применения кода клиент видит, что получит "
                "({ref_p} на {ref_m}), что скидка начнется после промо-периода, и до какого "
                "времени можно применить код.",
                role="N",
            ),
            Step(
                "apply",
                "Клиент {N} применяет код {R}",
                "У {N} скидка {p0} и «{ref_p} начнет "
                "действовать …» в конце промо-периода; у {R} — {p1}.",
                role="N",
                referrer="R",
            ),
            Step(
                "jump",
                "+1 месяц",
                "Промо-период {N} закончился: скидка {ref_p} действует.",
                jump="month",
            ),
            Step(
                "open",
                "Открыть как клиент {N}",
                "«Ваша скидка» — {ref_p}, в истории — «действует».",
                role="N",
            ),
        ),
        watch=("R", "N"),
    ),
    Story(
        "ladder",
        "Лестница от {p0} до {max} и пакеты SMS",
        "Пять новых клиентов применяют код одного участника: {p1} → {p5}, {sms3} и {sms5}.",
        (
            Role("R", "Меридиан", "meridian", 300, member=True),
            Role("A", "Альтаир", "altair"),
            Role("B", "Бриз", "briz"),
            Role("C", "Вега", "vega-tech"),
            Role("D", "Гелиос", "gelios"),
            Role("E", "Дельта", "delta-office"),
        ),
        (
            Step(
                "apply",
                "Клиент {A} применяет код {R}",
                "У {R} — {p1} на {m1}.",
                role="A",
                referrer="R",
            ),
            Step(
                "apply",
                "Клиент {B} применяет код {R}",
                "У {R} — {p2} на {m2}: скидка увеличена и "
                "продлена. Если оба кода применены в одну минуту, скидка {p1} не видна клиенту "
                "отдельной строкой «… – …» с одним временем: скачок виден по уровню следующей.",
                role="B",
                referrer="R",
            ),
            Step(
                "jump",
                "+1 день",
                "Между приглашениями проходит день: три кода за час — сигнал мошенничества.",
                jump="day",
            ),
            Step(
                "apply",
                "Клиент {C} применяет код {R}",
                "У {R} — {p3} на {m3} и {sms3}.",
                role="C",
                referrer="R",
            ),
            Step(
                "apply",
                "Клиент {D} применяет код {R}",
                "У {R} — {p4} на {m4}.",
                role="D",
                referrer="R",
            ),
            Step("jump", "+1 день", "Еще день спустя.", jump="day"),
            Step(
                "apply",
                "Клиент {E} применяет код {R}",
                "У {R} — {p5} на {m5} и {sms5}.",
                role="E",
                referrer="R",
            ),
            Step(
                "open",
                "Открыть как клиент {R}",
                "«Ваша скидка» {p5}, 5 приглашенных, оба "
                "пакета SMS и «Еще 1 клиент — и скидка {p5} продлится до …».",
                role="R",
            ),
        ),
        watch=("R",),
    ),
    Story(
        "window",
        "Месячное окно для кода закрывается",
        "Код можно применить в течение {window} после регистрации АТС; потом — только "
        "вступить в программу.",
        (
            Role("R", "Полюс", "polus", 200, member=True),
            Role("N", "Ладога", "ladoga", 25),
        ),
        (
            Step(
                "open",
                "Открыть как клиент {N}",
                "Клиент видит поле для кода и «Применить код можно до …».",
                role="N",
            ),
            Step("jump", "+1 неделя", "Окно {N} закрылось.", jump="week"),
            Step(
                "open",
                "Открыть как клиент {N}",
                "Поля для кода нет: только «Вступить в "
                "программу» и «Срок применения кода … истек».",
                role="N",
            ),
            Step(
                "try_apply",
                "Клиент {N} пытается применить код {R}",
                "Отказ с понятной причиной: срок применения кода истек.",
                role="N",
                referrer="R",
            ),
        ),
        watch=("N",),
    ),
    Story(
        "expiry",
        "Скидка заканчивается — лестница заново",
        "Скидка за приведенных клиентов истекает; следующий клиент начинает лестницу с {p1}.",
        (
            Role("R", "Созвездие", "sozvezdie", 300, member=True),
            Role("A", "Исток", "istok"),
            Role("B", "Кедр", "kedr-group"),
            Role("C", "Лотос", "lotos-service", later=True),
        ),
        (
            Step("apply", "Клиент {A} применяет код {R}", "У {R} — {p1}.", role="A", referrer="R"),
            Step(
                "apply",
                "Клиент {B} применяет код {R}",
                "У {R} — {p2} на {m2}.",
                role="B",
                referrer="R",
            ),
            Step(
                "jump_past",
                "Перейти на день после окончания скидки {R}",
                "У {R} скидка {p0}, в "
                "истории — «завершена», и «Еще 1 клиент — и лестница начнется заново».",
                role="R",
            ),
            Step(
                "newcomer",
                "Новый клиент {C} регистрируется и применяет код {R}",
                "У {R} снова {p1} на {m1} (уровень 1): лестница началась заново.",
                role="C",
                referrer="R",
            ),
            Step(
                "open",
                "Открыть как клиент {R}",
                "История скидок: {p2} «завершена», новая {p1} «действует».",
                role="R",
            ),
        ),
        watch=("R",),
    ),
    Story(
        "fraud",
        "Мошенничество: всплеск с одного домена",
        "Три клиента с домена участника применяют его код за минуту; менеджер отменяет "
        "реферал, лестница пересчитывается.",
        (
            Role("R", "Ромашка", "romashka", 200, member=True),
            Role("F1", "Ромашка-Сервис", "romashka", mailbox="service", domain_of="R"),
            Role("F2", "Ромашка-Опт", "romashka", mailbox="opt", domain_of="R"),
            Role("F3", "Ромашка-Трейд", "romashka", mailbox="trade", domain_of="R"),
        ),
        (
            Step(
                "burst",
                "{F1}, {F2} и {F3} применяют код {R} за минуту",
                "У {R} — {p3} и {sms3}; сигналы: общий домен и всплеск рефералов.",
                referrer="R",
                roles=("F1", "F2", "F3"),
            ),
            Step(
                "card",
                "Открыть карточку {R} в панели",
                "«Признаки мошенничества»: общий домен с каждым из трех и 3 реферала за час.",
                role="R",
            ),
            Step(
                "revoke",
                "Отменить реферал {F3} (мошенничество)",
                "У {R} — {p2}: лестница "
                "пересчитана, {sms3} отменен, в истории — «отменена»; запись в журнале.",
                role="F3",
            ),
            Step("open", "Открыть как клиент {R}", "«Ваша скидка» {p2}, 2 приглашенных.", role="R"),
        ),
        watch=("R",),
    ),
    Story(
        "season",
        "Сезонная акция: {cp1} за первого друга",
        "Менеджер публикует акцию на {cdays}: за первого приведенного клиента {cp1} на {cm1} "
        "вместо {p1} на {m1}. Реферал во время акции получает ее условия; после ее конца "
        "снова действуют прежние, а выданные скидки не меняются.",
        (
            Role("R", "Орион", "orion", 200, member=True),
            Role("A", "Азимут", "azimut"),
            Role("S", "Сигма", "sigma-telecom", 200, member=True),
            Role("B", "Бета", "beta-office", later=True),
        ),
        (
            Step(
                "campaign",
                "Опубликовать акцию с {cstart} до {cend}",
                "В «Условиях программы» акция «предстоит»; до ее начала действуют прежние условия.",
            ),
            Step(
                "terms",
                "Открыть «Условия программы»",
                "Действующая версия, предстоящая акция с ее концом и запись в журнале действий.",
            ),
            Step("jump", "+1 день", "Акция началась: время кабинета — после {cstart}.", jump="day"),
            Step(
                "apply",
                "Клиент {A} применяет код {R}",
                "У {R} — {cp1} на {cm1}: уровень 1 по условиям акции.",
                role="A",
                referrer="R",
            ),
            Step(
                "campaign_over",
                "Перейти на день после конца акции",
                "Акция закончилась: снова {p1} за первого друга. Скидка {R} осталась {cp1} — "
                "выданное не пересчитывается.",
            ),
            Step(
                "newcomer",
                "Новый клиент {B} регистрируется и применяет код {S}",
                "У {S} — {p1} на {m1}: реферал после акции получает прежние условия.",
                role="B",
                referrer="S",
            ),
            Step(
                "open",
                "Открыть как клиент {R}",
                "«Ваша скидка» — по-прежнему {cp1} (выданное по акции остается), а «Таблица "
                "скидок» — снова прежние условия: {p1} за первого клиента.",
                role="R",
            ),
        ),
        watch=("R", "S"),
    ),
)
_BY_KEY = {story.key: story for story in STORIES}


def story(key: str) -> Story:
    found = _BY_KEY.get(key)
    if found is None:
        raise UnknownStory()
    return found


def _require_demo(program: Program) -> None:
    if not isinstance(program.clock, DemoClock):
        raise services.NotInDemoMode()


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


def _create(program: Program, role: Role, ids: dict[str, int], roles: dict[str, Role]) -> int:
    client_id = _next_id()
    now = program.clock.now()
    registered = now - timedelta(days=role.registered_days_ago)
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


def start(program: Program, manager_id: int, key: str) -> DemoRun:
    """Fresh clients for the story at the cabinet's time; its earlier runs stay as they were."""
    _require_demo(program)
    chosen = story(key)
    roles = {role.key: role for role in chosen.roles}
    ids: dict[str, int] = {}
    for role in chosen.roles:
        if not role.later:
            ids[role.key] = _create(program, role, ids, roles)
    for role in chosen.roles:
        if role.member:
            referral_services.join(program, ids[role.key])
    with transaction():
        run = DemoRun(story=key, started_at=program.clock.now(), clients=ids, steps_done=[])
        db.session.add(run)
        audit.record(
            program.clock.now(),
            manager_id,
            "scenario_start",
            reason=chosen.title.format_map(_words(chosen, None, program)),
            details={"story": key, "clients": ids},
        )
    return run


def latest_run(key: str) -> DemoRun | None:
    return db.session.scalars(
        select(DemoRun).where(DemoRun.story == key).order_by(DemoRun.id.desc()).limit(1)
    ).first()


# ---- performing a step ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    message: str
    ok: bool  # False: a refusal the story shows on purpose («try_apply»)
    open_client: int | None = None  # open this client's cabinet
    show_client: int | None = None  # show this client's card in the panel
    show_terms: bool = False  # show «Условия программы»


def perform(program: Program, manager_id: int, key: str, run_id: int, index: int) -> Outcome:
    """Step `index` of the latest run of story `key` (`run_id` guards against a stale page)."""
    _require_demo(program)
    chosen = story(key)
    run = latest_run(key)
    if run is None or run.id != run_id:
        raise StaleRun()
    if not 0 <= index < len(chosen.steps):
        raise UnknownStory()
    step = chosen.steps[index]
    ids: dict[str, int] = {k: int(v) for k, v in run.clients.items()}
    names = _names(chosen, ids)
    title = chosen.title.format_map(_words(chosen, run, program))
    reason = f"Демо-сценарий «{title}»"
    outcome: Outcome
    if step.kind == "open":
        outcome = Outcome(f"Кабинет клиента {names[step.role]}", True, open_client=ids[step.role])
    elif step.kind == "card":
        outcome = Outcome("", True, show_client=ids[step.role])
    elif step.kind == "terms":
        outcome = Outcome("", True, show_terms=True)
    elif step.kind == "campaign":
        outcome = _publish_campaign(program, manager_id, run)
    elif step.kind == "campaign_over":
        if run.terms_version is None:
            raise StepNotReady("Акция еще не опубликована: сначала шаг «Опубликовать акцию».")
        outcome = _go_to_day_after(program, manager_id, _campaign(run, program).ends)
    elif step.kind == "apply":
        _apply(program, manager_id, ids[step.role], ids[step.referrer], reason)
        outcome = Outcome(f"{names[step.role]} применил код {names[step.referrer]}.", True)
    elif step.kind == "burst":
        for role in step.roles:
            _apply(program, manager_id, ids[role], ids[step.referrer], reason)
        outcome = Outcome(f"Коды применены: {', '.join(names[r] for r in step.roles)}.", True)
    elif step.kind == "try_apply":
        try:
            _apply(program, manager_id, ids[step.role], ids[step.referrer], reason)
        except ProgramRefusal as refusal:
            outcome = Outcome(f"Отказ: {refusal.message}", False)
        else:
            outcome = Outcome("Код применен: окно еще не закрылось.", True)
    elif step.kind == "jump":
        shown = services.move_clock(program, manager_id, step.jump)
        outcome = Outcome(_clock_message(shown, program), True)
    elif step.kind == "jump_past":
        ends = _ladder_end(ids[step.role], names[step.role])
        outcome = _go_to_day_after(program, manager_id, ends)
    elif step.kind == "newcomer":
        roles = {role.key: role for role in chosen.roles}
        if step.role not in ids:
            ids[step.role] = _create(program, roles[step.role], ids, roles)
            with transaction():
                fresh = db.session.get(DemoRun, run.id, populate_existing=True)
                assert fresh is not None  # noqa: S101 - the run was read above
                fresh.clients = dict(ids)
            names = _names(chosen, ids)
        _apply(program, manager_id, ids[step.role], ids[step.referrer], reason)
        outcome = Outcome(f"{names[step.role]} зарегистрирован и применил код.", True)
    else:  # revoke
        referral_id = db.session.scalar(
            select(Referral.id).where(Referral.referee_id == ids[step.role])
        )
        if referral_id is None:
            raise StepNotReady(f"{names[step.role]} еще не применял код: сначала шаги выше.")
        revoke_referral(program, manager_id, referral_id, f"{reason}: всплеск с одного домена")
        outcome = Outcome(f"Реферал {names[step.role]} отменен, скидки пересчитаны.", True)
    _mark_done(run.id, index)
    return outcome


def _publish_campaign(program: Program, manager_id: int, run: DemoRun) -> Outcome:
    """The campaign over the terms in force, saved and published as a manager would in
    «Условия программы» (so the right, the checks and the log are the same)."""
    if run.terms_version is not None:
        raise StepNotReady("Акция этого запуска уже опубликована: следующий шаг — ниже.")
    campaign = _campaign(None, program)
    zone = program.timezone
    values = terms_rules.values_of(
        campaign.terms,
        CAMPAIGN_TITLE,
        campaign.starts.astimezone(zone).replace(tzinfo=None).isoformat(),
        campaign.ends.astimezone(zone).replace(tzinfo=None).isoformat(),
    )
    version = terms_services.save_draft(program, manager_id, None, values)
    terms_services.publish(program, manager_id, version, confirmed=True)
    with transaction():
        fresh = db.session.get(DemoRun, run.id, populate_existing=True)
        assert fresh is not None  # noqa: S101 - the run was read above
        fresh.terms_version = version
    return Outcome(
        f"Акция опубликована (версия {version}): с {show_moment(campaign.starts, zone)} "
        f"до {show_moment(campaign.ends, zone)}.",
        True,
    )


def _apply(
    program: Program, manager_id: int, client_id: int, referrer_id: int, reason: str
) -> None:
    code = db.session.scalar(select(Member.code).where(Member.client_id == referrer_id))
    if code is None:  # pragma: no cover - the story's referrer joins at the start
        raise StepNotReady("У реферера нет кода.")
    services.apply_code_for_client(program, manager_id, client_id, code, reason)


def _ladder_end(client_id: int, name: str) -> datetime:
    ends: datetime | None = db.session.scalar(
        select(func.max(Grant.ends_at)).where(
            Grant.client_id == client_id, Grant.reason == "referrer", Grant.revoked_at.is_(None)
        )
    )
    if ends is None:
        raise StepNotReady(f"У {name} нет скидки за приведенных клиентов: сначала шаги выше.")
    return ends


def _go_to_day_after(program: Program, manager_id: int, moment: datetime) -> Outcome:
    """The time machine to the day after `moment` (the cabinet's calendar), same time of day."""
    day = (moment.astimezone(program.timezone) + timedelta(days=1)).date()
    shown = services.move_clock(program, manager_id, "date", day)
    return Outcome(_clock_message(shown, program), True)


def _clock_message(shown: datetime, program: Program) -> str:
    return f"Время кабинета: {show_moment(shown, program.timezone)}"


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


# ---- the page ------------------------------------------------------------------------------


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
        return self.kind in ("open", "card", "terms")


@dataclass(frozen=True)
class StoryView:
    key: str
    title: str
    summary: str
    run_id: int | None
    started: str
    steps: tuple[StepView, ...]
    standing: tuple[str, ...]  # «Сейчас»: the watched clients as the client sees them


def board(program: Program) -> list[StoryView]:
    now = program.clock.now()
    zone = program.timezone
    terms = queries.terms_at(now)
    views = []
    for chosen in STORIES:
        run = latest_run(chosen.key)
        words = _words(chosen, run, program)
        if run is None:
            texts = {**words, **_names(chosen, {})}
            views.append(
                StoryView(
                    chosen.key,
                    chosen.title.format_map(words),
                    chosen.summary.format_map(words),
                    None,
                    "",
                    tuple(
                        StepView(
                            i,
                            s.label.format_map(texts),
                            s.look.format_map(texts),
                            s.kind,
                            False,
                            "",
                        )
                        for i, s in enumerate(chosen.steps)
                    ),
                    (),
                )
            )
            continue
        ids = {k: int(v) for k, v in run.clients.items()}
        texts = {**words, **_names(chosen, ids)}
        steps = tuple(
            StepView(
                i,
                s.label.format_map(texts),
                s.look.format_map(texts),
                s.kind,
                i in run.steps_done or _done_in_data(s, ids, run),
                _note(s, ids, now, program, terms),
            )
            for i, s in enumerate(chosen.steps)
        )
        standing = tuple(
            _standing_line(ids[role], texts[role], now, zone, terms)
            for role in chosen.watch
            if role in ids
        )
        views.append(
            StoryView(
                chosen.key,
                chosen.title.format_map(words),
                chosen.summary.format_map(words),
                run.id,
                show_moment(run.started_at, zone),
                steps,
                standing,
            )
        )
    return views


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
    step: Step, ids: dict[str, int], now: datetime, program: Program, terms: rules.Terms
) -> str:
    if step.kind != "apply" or step.role not in ids:
        return ""
    client = db.session.get(Client, ids[step.role])
    if client is None:
        return ""
    deadline = rules.apply_deadline(client.registered_at, program.timezone, terms)
    if now > deadline and not _done_in_data(step, ids):
        return (
            f"Окно для кода закрылось {show_date(deadline, program.timezone)} (время кабинета "
            "сдвинуто): нажмите «Начать заново»."
        )
    return ""


def _standing_line(
    client_id: int, name: str, now: datetime, zone: tzinfo, terms: rules.Terms
) -> str:
    standing = queries.standing(client_id, now, terms)
    parts = [f"скидка {percent(standing.discount_percent)}"]
    parts += [f"{percent(g.percent)} с {show_date(g.starts_at, zone)}" for g in standing.upcoming]
    if standing.referred_count:
        parts.append(f"{standing.referred_count} {invited_word(standing.referred_count)}")
        parts += [sms_pack(p.size) for p in queries.sms_packs(client_id)]
    if not standing.member:
        parts.append("не участвует")
    return f"{name}: " + ", ".join(parts)
