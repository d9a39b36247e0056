"""The demo's stories («Сценарии»), as data: who takes part, the steps, what to look at.

A story's texts hold places: a role's key in braces (`{R}`) becomes the client's id and name;
every other place is a number of the terms in force, worded by `cabinet/demo/words.py` (never
typed here). Each step's kind names its handler in `cabinet/demo/runs.py` (one table). A step
that opens a page (`open`, `card`, `terms`) leads away from the card; the page it opens has a
way back («К сценарию …»).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal

from cabinet.demo.time_machine import Jump
from cabinet.program import rules as terms_rules
from cabinet.referrals.rules import TermsNumbers

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
# Steps that lead to another page (the card's way there and back).
OPENS: frozenset[StepKind] = frozenset({"open", "card", "terms"})

# The campaign of «Сезонная акция»: from the next midnight of the cabinet's time, two weeks.
CAMPAIGN_DAYS = 14
CAMPAIGN_TITLE = "Сезонная акция (демо-сценарий)"


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
    # registered so that its window for a code closes this many days after the start
    window_closes_in_days: int | None = None


@dataclass(frozen=True)
class Step:
    kind: StepKind
    label: str  # places: the roles ({R}) and the terms' numbers ({p1}, {sms_and3}, …)
    look: str  # «Что смотреть»: what the page the step leads to shows
    role: str = ""  # the client the step is about
    referrer: str = ""  # whose code it applies
    jump: Jump = "day"
    roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    summary: str
    roles: tuple[Role, ...]
    steps: tuple[Step, ...]
    watch: tuple[str, ...] = ()  # roles whose standing the card shows


def campaign_terms(regular: TermsNumbers) -> TermsNumbers:
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
                "Код применен: у {R} — {p1}{sms_and1}, у {N} скидка придет после промо-периода.",
                role="N",
                referrer="R",
            ),
            Step(
                "open",
                "Открыть как клиент {N}",
                "«Ваша скидка» — {p0} и «{ref_p} начнет действовать …» в конце промо-периода.",
                role="N",
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
        "Лестница от {p0} до {p5}{ladder_packs_title}",
        "Пять новых клиентов применяют код одного участника: {p1} → {p5}{ladder_packs}.",
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
                "У {R} — {p1} на {m1}{sms_and1}.",
                role="A",
                referrer="R",
            ),
            Step(
                "apply",
                "Клиент {B} применяет код {R}",
                "У {R} — {p2} на {m2}{sms_and2}: скидка увеличена и "
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
                "У {R} — {p3} на {m3}{sms_and3}.",
                role="C",
                referrer="R",
            ),
            Step(
                "apply",
                "Клиент {D} применяет код {R}",
                "У {R} — {p4} на {m4}{sms_and4}.",
                role="D",
                referrer="R",
            ),
            Step("jump", "+1 день", "Еще день спустя.", jump="day"),
            Step(
                "apply",
                "Клиент {E} применяет код {R}",
                "У {R} — {p5} на {m5}{sms_and5}.",
                role="E",
                referrer="R",
            ),
            Step(
                "open",
                "Открыть как клиент {R}",
                "«Ваша скидка» {p5}, {invited5}{ladder_packs_held} и «Еще 1 клиент — и скидка …».",
                role="R",
            ),
        ),
        watch=("R",),
    ),
    Story(
        "window",
        "Месячное окно для кода закрывается",
        "Код можно применить в течение {window_within} после регистрации АТС; потом — только "
        "вступить в программу.",
        (
            Role("R", "Полюс", "polus", 200, member=True),
            Role("N", "Ладога", "ladoga", window_closes_in_days=5),
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
            Step(
                "apply",
                "Клиент {A} применяет код {R}",
                "У {R} — {p1}{sms_and1}.",
                role="A",
                referrer="R",
            ),
            Step(
                "apply",
                "Клиент {B} применяет код {R}",
                "У {R} — {p2} на {m2}{sms_and2}.",
                role="B",
                referrer="R",
            ),
            Step(
                "jump_past",
                "Перейти на день после окончания скидки {R}",
                "Время кабинета — день после конца скидки {R}.",
                role="R",
            ),
            Step(
                "open",
                "Открыть как клиент {R}",
                "У {R} скидка {p0}, в истории — «завершена», и «Еще 1 клиент — и лестница "
                "начнется заново».",
                role="R",
            ),
            Step(
                "newcomer",
                "Новый клиент {C} регистрируется и применяет код {R}",
                "У {R} снова {p1} на {m1}{sms_and3} (уровень 1): лестница началась заново.",
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
                "У {R} — {p3}{sms_upto3}; сигналы: общий домен и всплеск рефералов.",
                referrer="R",
                roles=("F1", "F2", "F3"),
            ),
            Step(
                "card",
                "Открыть карточку {R} в панели",
                "«Признаки мошенничества»: общий домен с каждым из трех и 3 реферала за час. "
                "Ссылка «К сценарию» ведет обратно.",
                role="R",
            ),
            Step(
                "revoke",
                "Отменить реферал {F3} (мошенничество)",
                "У {R} — {p2}: лестница пересчитана{sms_back3}, в истории — «отменена»; "
                "запись в журнале.",
                role="F3",
            ),
            Step("open", "Открыть как клиент {R}", "«Ваша скидка» {p2}, {invited2}.", role="R"),
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
                "Действующая версия и акция с ее концом: «предстоит». Ссылка «К сценарию» "
                "ведет обратно.",
            ),
            Step("jump", "+1 день", "Акция началась: время кабинета — после {cstart}.", jump="day"),
            Step(
                "apply",
                "Клиент {A} применяет код {R}",
                "У {R} — {cp1} на {cm1}{sms_and1}: уровень 1 по условиям акции.",
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
                "У {S} — {p1} на {m1}{sms_and1}: реферал после акции получает прежние условия.",
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
BY_KEY = {story.key: story for story in STORIES}
