"""What the referral page shows, computed once, so the templates only lay it out."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime
from functools import cache
from typing import Literal
from zoneinfo import ZoneInfo

from flask import current_app, g

from cabinet import conditional
from cabinet.clients.models import ClientRecord
from cabinet.db import db
from cabinet.inputs import MAX_CURSOR_MICROS, MAX_ID, bounded_int
from cabinet.invitations.queries import sent_by
from cabinet.invitations.rules import show_recipient
from cabinet.moments import show_date, show_moment
from cabinet.referral_page import way_forward
from cabinet.referrals import queries, rules
from cabinet.referrals import terms as terms_words
from cabinet.referrals.terms import sms_pack
from cabinet.texts import invited_word, months, percent

Tab = Literal["history", "clients", "invitations"]
TABS: dict[Tab, str] = {
    "history": "История скидок",
    "clients": "Приведенные клиенты",
    "invitations": "Приглашения",
}
INVITATION_STATES = {  # the whole way of an invitation (cabinet/invitations/rules.fate)
    "queued": "в очереди",
    "sending": "в очереди",
    "sent": "отправлено",
    "delivered": "доставлено",
    "failed": "не доставлено",
    "applied": "друг применил код",
    "granted": "скидка начислена",
}
CHANNEL_NAMES = {"sms": "SMS", "email": "Email"}


class BadCursor(ValueError):
    pass


def encode_cursor(cursor: queries.Cursor) -> str:
    moment, row_id = cursor
    return f"{int(moment.timestamp() * 1_000_000)}-{row_id}"


def decode_cursor(text: str | None) -> queries.Cursor | None:
    if not text:
        return None
    raw_micros, _, raw_id = text.partition("-")
    # Bounded before any arithmetic: a year past 2999 or an id past the column is no cursor
    # of ours (it once overflowed the date or the database integer).
    micros = bounded_int(raw_micros, 0, MAX_CURSOR_MICROS)
    row_id = bounded_int(raw_id, 1, MAX_ID)
    if micros is None or row_id is None:
        raise BadCursor(text)
    return datetime.fromtimestamp(micros / 1_000_000, UTC), row_id


def terms_schedule(program_stamp: int | None = None) -> rules.Schedule:
    """The published versions of the terms, read once per request (the page, the share dialog
    and the templates' `terms` share it). Given the program's change stamp (read with the
    signed-in client, cabinet/stamps.py), the versions this process last read under the same
    stamp are the same versions: every write to the terms changes the stamp."""
    if "terms_schedule" not in g:
        g.terms_schedule = _schedule_under(program_stamp)
    found: rules.Schedule = g.terms_schedule
    return found


KEPT_SCHEDULES = 64
# (the database, the program's stamp) → the versions read under it, in this process
_KEPT_SCHEDULE: dict[tuple[str, int], rules.Schedule] = {}


def _schedule_under(program_stamp: int | None) -> rules.Schedule:
    if program_stamp is None:
        return queries.schedule()
    key = (str(db.engine.url), program_stamp)
    kept = _KEPT_SCHEDULE.get(key)
    if kept is None:
        kept = queries.schedule()
        if len(_KEPT_SCHEDULE) >= KEPT_SCHEDULES:
            _KEPT_SCHEDULE.clear()
        _KEPT_SCHEDULE[key] = kept
    return kept


@dataclass(frozen=True)
class HistoryLine:
    percent: str  # as `texts.percent` writes it
    starts: str
    ends: str
    reason: str
    state: str  # «действует», «начнет действовать 20.04.2023», «завершена», «отменена»
    in_force: bool


@dataclass(frozen=True)
class ClientLine:
    id: int
    name: str
    activated: str
    # «ожидает первой оплаты «ТехСтрой»», or why and when the reward was taken back
    reward_note: str = ""


@dataclass(frozen=True)
class InvitationLine:
    recipient: str
    channel: str
    created: str
    state: str
    status: str  # the invitation's fate (queued … granted), for the badge's colour


@dataclass(frozen=True)
class LadderLine:
    """A row of a version's ladder for the panel's tables (cabinet/manage/terms.py)."""

    clients: int
    percent: int
    duration: str
    bonus: str


@dataclass(frozen=True)
class Upcoming:
    percent: int  # the panel's client card formats it (templates/manage/client.html)
    starts: str
    shown: str  # the percent as `texts.percent` writes it, for the client's page


@dataclass(frozen=True)
class TabPanel:
    """One page of one tab: all that the `tabs` block shows, and all a tab fragment builds."""

    tab: Tab
    history: tuple[HistoryLine, ...]
    clients: tuple[ClientLine, ...]
    invitations: tuple[InvitationLine, ...]
    invitations_pending: bool  # the tab refreshes itself until every message is settled
    next_cursor: str | None
    first_page: bool

    @property
    def tabs(self) -> tuple[tuple[Tab, str], ...]:
        return tuple(TABS.items())


@dataclass(frozen=True)
class ReferralPage(TabPanel):
    """The whole page: the member's standing, the code form, the ladder, and a tab."""

    client_id: int
    client_name: str
    member: bool
    discount_percent: int
    discount: str  # «Ваша скидка», as `texts.percent` writes it
    referred_count: int
    invited_word: str
    sms_packs: tuple[str, ...]
    code: str | None
    upcoming: tuple[Upcoming, ...]
    can_apply: bool
    apply_deadline: str
    offer: tuple[str, ...]  # what applying a code gives, and until when (while it may)
    next_step: str | None  # «Еще 1 клиент — и скидка станет …» (members)
    waiting: str | None  # «Награда за приглашение ожидает первой оплаты «ТехСтрой».»
    ladder: tuple[terms_words.StepWords, ...]
    ladder_intro: str  # the sentence above «Таблица скидок», from the terms in force
    welcome: tuple[str, ...]  # a new member (no discount, none brought, none coming): the offer
    campaign: str | None  # «Акция до …: …» while a campaign is in force
    notify_applied: bool | None  # the member's notice switch (None: not a member)

    @property
    def ladder_has_packs(self) -> bool:
        return any(line.bonus for line in self.ladder)

    @property
    def code_parts(self) -> tuple[str, str]:
        """The code in two halves, as the help page prints it: «5e83e 12b1»."""
        code = self.code or ""
        return code[:5], code[5:]


@cache
def ladder_lines(terms: rules.TermsNumbers) -> tuple[LadderLine, ...]:
    """A version's ladder for the panel: computed once per version."""
    return tuple(
        LadderLine(
            step.level,
            step.percent,
            months(step.months),
            "" if step.sms_pack is None else sms_pack(step.sms_pack),
        )
        for step in terms.ladder
    )


@cache
def ladder_words(
    terms: rules.TermsNumbers, regular: rules.TermsNumbers | None = None
) -> tuple[terms_words.StepWords, ...]:
    """«Таблица скидок» of the terms in force, in words: the same for everyone, computed once
    per version; during a campaign each row notes the regular terms' where they differ."""
    return tuple(terms_words.step_words(step, regular) for step in terms.ladder)


_REASONS = {"referee": "по коду-приглашению", "referrer": "за приведенных клиентов"}
_NO_TAB = TabPanel("history", (), (), (), False, None, True)


def build(
    client: ClientRecord | int,
    now: datetime,
    zone: ZoneInfo,
    tab: Tab,
    after: queries.Cursor | None,
    page_size: int,
) -> ReferralPage:
    """The full page: the terms in force (one statement, kept by the process under the
    program's change stamp), the standing with its current grants, SMS packs and notice switch
    (one; the signed-in client is not loaded again), and one page of one tab for a member (in
    that same statement for the first page of «История скидок»). A client id (a manager
    looking a client up) costs two statements for the standing, one for the packs of a
    referrer, and raises ClientNotFound."""
    stamp = None if isinstance(client, int) else client.program_stamp
    schedule = terms_schedule(stamp)  # read once per request, shared with the templates
    version = schedule.version_at(now)
    terms = version.terms
    regular = _regular_after(version, schedule)
    first_history: list[queries.HistoryRow] | None = None
    if isinstance(client, int):
        standing = queries.standing(client, now, terms)
        packs = queries.sms_packs(client) if standing.ladder_count else []
    elif tab == "history" and after is None:  # the first page of the first tab: one statement
        standing, packs, first_history = queries.standing_packs_and_history(
            client, now, terms, history_limit=page_size + 1
        )
    else:
        standing, packs = queries.standing_and_packs(client, now, terms)
    client_id = standing.client_id
    panel = (
        build_tab(client_id, now, zone, tab, after, page_size, first_history)
        if standing.member
        else _NO_TAB
    )
    party = standing.party()
    # Only a member with rewards that wait or were taken back pays the statement.
    waiting = queries.waiting_names(client_id) if standing.not_counting else ()
    can_apply = rules.can_still_apply(party, now, zone, terms)
    deadline = rules.apply_deadline(standing.registered_at, zone, terms)
    # Where the page's words change with the clock (cabinet/conditional.py keeps a page only
    # for a minute with none of these in it).
    conditional.note_moments(
        *schedule.changes(),
        deadline,
        standing.registered_at,
        standing.promo_until,
        *(m for g in (*standing.in_force, *standing.upcoming) for m in (g.starts_at, g.ends_at)),
    )
    next_step = None
    fresh = (
        standing.member
        and not standing.discount_percent
        and not standing.referred_count
        and not standing.upcoming
    )
    if standing.member and not fresh:  # a new member reads the offer instead (`welcome`)
        next_step = way_forward.next_referral_sentence(
            rules.next_referral(
                queries.in_effect((*standing.in_force, *standing.upcoming)),
                standing.ladder_count,
                (p.size for p in packs),
                now,
                zone,
                terms,
                schedule.at,
                _schedule_changes(schedule),
            ),
            zone,
        )
    return ReferralPage(
        **{f.name: getattr(panel, f.name) for f in fields(TabPanel)},
        client_id=standing.client_id,
        client_name=standing.client_name,
        member=standing.member,
        discount_percent=standing.discount_percent,
        discount=percent(standing.discount_percent),
        referred_count=standing.referred_count,
        invited_word=invited_word(standing.referred_count),
        sms_packs=tuple(f"{sms_pack(p.size)}, {show_date(p.granted_at, zone)}" for p in packs),
        code=standing.code,
        upcoming=tuple(
            Upcoming(g.percent, show_date(g.starts_at, zone), percent(g.percent))
            for g in standing.upcoming
        ),
        can_apply=can_apply,
        apply_deadline=show_moment(deadline, zone),
        offer=(
            way_forward.referee_offer_lines(rules.referee_offer(party, now, zone, terms), zone)
            if can_apply
            else ()
        ),
        next_step=next_step,
        waiting=terms_words.waiting_sentence(waiting),
        ladder=ladder_words(terms, regular),
        ladder_intro=terms_words.ladder_intro(terms),
        welcome=terms_words.welcome_lines(terms) if fresh else (),
        campaign=(
            None if regular is None else terms_words.campaign_headline(version, regular, zone)
        ),
        notify_applied=standing.notify_applied,
    )


def _reward_note(referred: queries.ReferredClient, zone: ZoneInfo) -> str:
    """A row of «Приведенные клиенты» whose reward waits, or was taken back, says so."""
    if referred.qualified_at is None:
        return terms_words.waiting_words(referred.name)
    if referred.clawed_back_at is not None:
        return terms_words.clawed_back_words(referred.qualified_at, referred.clawed_back_at, zone)
    return ""


def _regular_after(version: rules.Version, schedule: rules.Schedule) -> rules.TermsNumbers | None:
    """The terms that apply again when the campaign in force ends (None: no campaign, or no
    version covers its end)."""
    if version.ends_at is None:
        return None
    try:
        return terms_words.regular_after(version, schedule)
    except ValueError:
        return None


def _schedule_changes(schedule: rules.Schedule) -> tuple[datetime, ...]:
    """The moments the terms in force may change: every version's start and end."""
    return schedule.changes()


def build_tab(
    client_id: int,
    now: datetime,
    zone: ZoneInfo,
    tab: Tab,
    after: queries.Cursor | None,
    page_size: int,
    first_history: list[queries.HistoryRow] | None = None,
) -> TabPanel:
    """One page of one tab, and nothing else: one statement, none when the rows of the first
    page of «История скидок» were read already (`first_history`). (A client that is not a
    member has no rows in any tab, so it needs no check.)"""
    history: tuple[HistoryLine, ...] = ()
    clients: tuple[ClientLine, ...] = ()
    invitations: tuple[InvitationLine, ...] = ()
    next_cursor = None
    if tab == "history":
        grants = (
            queries.history(client_id, after=after, limit=page_size + 1, newest_first=True)
            if first_history is None
            else first_history
        )
        # A grant closed in the minute it started is not a row of its own here (it stays in
        # the data and the API): the next row's level shows the jump.
        conditional.note_moments(*(m for g in grants for m in (g.starts_at, g.ends_at)))
        history = tuple(
            _history_line(g, now, zone)
            for g in grants[:page_size]
            if not rules.lasted_no_time(g.as_rule())
        )
        if len(grants) > page_size:
            next_cursor = encode_cursor(grants[page_size - 1].cursor)
    elif tab == "invitations":
        key = current_app.extensions["invitations"].contact_hash_key
        sent = sent_by(client_id, after=after, limit=page_size + 1, hash_key=key)
        invitations = tuple(
            InvitationLine(
                show_recipient(i.channel, i.recipient),
                CHANNEL_NAMES[i.channel],
                show_moment(i.created_at, zone),
                INVITATION_STATES[i.fate],
                i.fate,
            )
            for i in sent[:page_size]
        )
        if len(sent) > page_size:
            next_cursor = encode_cursor(sent[page_size - 1].cursor)
    else:
        referred = queries.referred_clients(
            client_id, after=after, limit=page_size + 1, newest_first=True
        )
        clients = tuple(
            ClientLine(r.id, r.name, show_moment(r.activated_at, zone), _reward_note(r, zone))
            for r in referred[:page_size]
        )
        if len(referred) > page_size:
            next_cursor = encode_cursor(referred[page_size - 1].cursor)
    return TabPanel(
        tab=tab,
        history=history,
        clients=clients,
        invitations=invitations,
        invitations_pending=any(line.status in ("queued", "sending") for line in invitations),
        next_cursor=next_cursor,
        first_page=after is None,
    )


def _history_line(grant: queries.HistoryRow, now: datetime, zone: ZoneInfo) -> HistoryLine:
    rule = grant.as_rule()
    in_force = rule.in_force(now) and not grant.voided
    if grant.voided:
        state = "отменена"  # voided when a manager revoked a referral: it never counted
    elif in_force:
        state = "действует"
    elif grant.starts_at > now:
        state = f"начнет действовать {show_date(grant.starts_at, zone)}"
    else:
        state = "завершена"
    reason = _REASONS.get(grant.reason, grant.reason)
    if grant.level is not None:
        reason = f"{reason}, уровень {grant.level}"
    if note := terms_words.campaign_note(grant.campaign_ends_at, zone):
        reason = f"{reason} {note}"
    return HistoryLine(
        percent(grant.percent),
        show_moment(grant.starts_at, zone),
        show_moment(grant.ends_at, zone),
        reason,
        state,
        in_force,
    )
