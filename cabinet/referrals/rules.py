"""The referral program's rules, exactly as docs/rules.md states them.

Pure functions over plain values: no Flask, no database. Time (`now`) and randomness come in as
arguments; calendar arithmetic happens on the wall clock of the cabinet's zone, because «3 месяца»
is read by a customer on a calendar, not in UTC.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal, Protocol, get_args

from cabinet.clients import errors as client_errors
from cabinet.moments import show_moment
from cabinet.referrals import errors

GrantReason = Literal["referee", "referrer"]
GRANT_REASONS: tuple[GrantReason, ...] = get_args(GrantReason)


@dataclass(frozen=True)
class Step:
    """One row of «Таблица скидок»: the level reached with `level` referred clients."""

    level: int
    percent: int
    months: int
    sms_pack: int | None  # given once, when the lifetime count of referred clients reaches `level`


@dataclass(frozen=True)
class TermsNumbers:
    """Every number of the program's terms, as one version holds them (docs/rules.md,
    «Версии условий»). Grants and SMS packs record the `version` that made them."""

    version: int
    referee_percent: int
    referee_months: int
    ladder: tuple[Step, ...]  # «Таблица скидок», levels 1, 2, … in order
    apply_window_months: int  # a new client applies a code within this many months
    max_discount_percent: int  # «Ваша скидка» is the sum of the grants in force, at most this

    @property
    def top_level(self) -> int:
        return self.ladder[-1].level

    @property
    def sms_pack_sizes(self) -> tuple[int, ...]:
        return tuple(s.sms_pack for s in self.ladder if s.sms_pack is not None)

    def step(self, level: int) -> Step:
        return self.ladder[min(level, self.top_level) - 1]


# Version 1: the terms of the operator's help page. The migration that creates the table of
# versions writes these numbers as version 1 (a test checks the two agree); everything else
# reads the version in force from the database.
HELP_PAGE_TERMS = TermsNumbers(
    version=1,
    referee_percent=20,
    referee_months=3,
    ladder=(
        Step(level=1, percent=20, months=3, sms_pack=None),
        Step(level=2, percent=40, months=6, sms_pack=None),
        Step(level=3, percent=60, months=12, sms_pack=1200),
        Step(level=4, percent=80, months=12, sms_pack=None),
        Step(level=5, percent=100, months=12, sms_pack=3200),
    ),
    apply_window_months=1,
    max_discount_percent=100,
)
# Version 1 is in force from the start of time: every activation has a version.
BEGINNING = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Version:
    """Published terms and when they are in force. A campaign has an end: from it on, the
    terms that were in force before apply again."""

    terms: TermsNumbers
    effective_from: datetime
    ends_at: datetime | None = None
    title: str = ""

    def covers(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.ends_at is None or at < self.ends_at)

    @property
    def campaign(self) -> bool:
        return self.ends_at is not None


def overlap(a: Version, b: Version) -> bool:
    """Two periods [start, end) meet (an open end lasts for ever)."""
    a_before_b_ends = b.ends_at is None or a.effective_from < b.ends_at
    b_before_a_ends = a.ends_at is None or b.effective_from < a.ends_at
    return a_before_b_ends and b_before_a_ends


@dataclass(frozen=True)
class Schedule:
    """Every published (not withdrawn) version. The terms in force at a moment: the campaign
    covering it, if one does (campaigns never overlap: publishing refuses it); otherwise the
    regular version that started last among those covering it. So a campaign keeps its whole
    window: regular terms that start during it take effect when it ends (docs/rules.md)."""

    versions: tuple[Version, ...]

    def version_at(self, at: datetime) -> Version:
        covering = [v for v in self.versions if v.covers(at)]
        if not covering:
            raise ValueError(f"no terms in force at {at.isoformat()}")
        campaigns = [v for v in covering if v.campaign]
        return max(campaigns or covering, key=lambda v: (v.effective_from, v.terms.version))

    def takes_effect(self, version: Version) -> datetime:
        """When `version` (published or not) would first be in force: a campaign at its start;
        regular terms at their start, or, if a campaign runs then, when it ends."""
        at = version.effective_from
        if version.campaign:
            return at
        while True:
            ends = [c.ends_at for c in self.campaigns() if c.ends_at is not None and c.covers(at)]
            if not ends:
                return at
            at = max(ends)

    def campaigns(self) -> tuple[Version, ...]:
        return tuple(v for v in self.versions if v.campaign)

    def overlapping(self, campaign: Version) -> tuple[Version, ...]:
        """The other campaigns whose window meets `campaign`'s (none may be published)."""
        return tuple(
            c
            for c in self.campaigns()
            if c.terms.version != campaign.terms.version and overlap(c, campaign)
        )

    def at(self, at: datetime) -> TermsNumbers:
        return self.version_at(at).terms

    def upcoming(self, now: datetime) -> tuple[Version, ...]:
        """Versions that take effect after `now` (regular terms that started during the running
        campaign included: they take effect when it ends), soonest first."""
        later = (v for v in self.versions if self.takes_effect(v) > now)
        return tuple(sorted(later, key=lambda v: (self.takes_effect(v), v.terms.version)))

    def changes_after(self, now: datetime) -> datetime | None:
        """The next moment the terms in force may change: a start or an end after `now`."""
        moments = [v.effective_from for v in self.versions if v.effective_from > now] + [
            v.ends_at for v in self.versions if v.ends_at is not None and v.ends_at > now
        ]
        return min(moments, default=None)


HELP_PAGE_SCHEDULE = Schedule((Version(HELP_PAGE_TERMS, BEGINNING, None, "Условия из справки"),))
TermsAt = Callable[[datetime], TermsNumbers]

CODE_LENGTH = 9
_CODE_PATTERN = re.compile(rf"[0-9a-f]{{{CODE_LENGTH}}}")
_CODE_NOISE = re.compile(r"[\s\-‐‑‒–—]+")


# ---- calendar ------------------------------------------------------------------------------


def add_months(moment: datetime, months: int, zone: tzinfo) -> datetime:
    """The same wall-clock time `months` calendar months later; the day is clamped to the
    month's last day (31.01 + 1 month = 28.02 or 29.02)."""
    local = moment.astimezone(zone)
    years, month_index = divmod(local.month - 1 + months, 12)
    year, month = local.year + years, month_index + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def period_end(start: datetime, months: int, zone: tzinfo) -> datetime:
    """`end = start + N months − 1 day`, on the wall clock of `zone`:
    30.03.2023 15:47 + 3 months → 29.06.2023 15:47."""
    shifted = add_months(start, months, zone).astimezone(zone)
    return (shifted - timedelta(days=1)).astimezone(UTC)


def apply_deadline(registered_at: datetime, zone: tzinfo, terms: TermsNumbers) -> datetime:
    """The last moment a new client may apply a code: PBX registration + the window
    (1 calendar month in the help page's terms)."""
    return add_months(registered_at, terms.apply_window_months, zone)


# ---- codes ---------------------------------------------------------------------------------


def normalise_code(raw: str) -> str:
    """What the customer typed, as a code: spaces and hyphens removed, letters lower-cased."""
    return _CODE_NOISE.sub("", raw).lower()


def parse_code(raw: str) -> str:
    """The normalised code, or CodeMalformed when it cannot be anybody's code."""
    code = normalise_code(raw)
    if not _CODE_PATTERN.fullmatch(code):
        raise errors.CodeMalformed()
    return code


def new_code(random_bytes: Callable[[int], bytes]) -> str:
    """A fresh personal code: 9 lowercase hex characters from a secure random source."""
    return random_bytes((CODE_LENGTH + 1) // 2).hex()[:CODE_LENGTH]


def is_code(text: str) -> bool:
    return _CODE_PATTERN.fullmatch(text) is not None


# ---- joining and applying a code ----------------------------------------------------------


@dataclass(frozen=True)
class Party:
    """What the rules need to know about a client taking part in an application."""

    client_id: int
    active: bool
    registered_at: datetime
    promo_until: datetime | None
    is_member: bool
    referred_by: int | None  # the referrer whose code this client applied, if any


def check_join(client: Party) -> None:
    """Joining without a code («У меня нет кода»)."""
    if not client.active:
        raise client_errors.ClientClosed()
    if client.is_member:
        raise errors.AlreadyMember()


def check_can_apply(referee: Party, now: datetime, zone: tzinfo, terms: TermsNumbers) -> None:
    """What the referee alone decides (active, no code applied before, within the window of
    `terms`, the terms in force at `now`), checked before any code is looked at: a client who
    can apply no code learns nothing about which codes exist."""
    if not referee.active:
        raise client_errors.ClientClosed()
    if referee.referred_by is not None:
        raise errors.CodeAlreadyApplied()
    deadline = apply_deadline(referee.registered_at, zone, terms)
    if now > deadline:
        raise errors.ApplyWindowClosed(show_moment(deadline, zone), terms.apply_window_months)


def check_application(
    referee: Party, referrer: Party, now: datetime, zone: tzinfo, terms: TermsNumbers
) -> None:
    """The five conditions for `referee` applying `referrer`'s code at `now` (under `terms`,
    the terms in force at `now`): first the referee's own, then the code's. A code that is not
    the referee's to use is refused with «код не найден» whatever the reason (its owner closed,
    or joined through the referee)."""
    check_can_apply(referee, now, zone, terms)
    if not referrer.is_member:
        raise errors.CodeNotFound()
    if referrer.client_id == referee.client_id:
        raise errors.OwnCode()
    if not referrer.active:
        raise errors.ReferrerClosed()
    if referrer.referred_by == referee.client_id:
        raise errors.CodeCycle()


def can_still_apply(referee: Party, now: datetime, zone: tzinfo, terms: TermsNumbers) -> bool:
    """Whether the page should still offer the code field to this client."""
    return (
        referee.active
        and referee.referred_by is None
        and now <= apply_deadline(referee.registered_at, zone, terms)
    )


# ---- grants --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    percent: int
    starts_at: datetime
    ends_at: datetime
    reason: GrantReason
    level: int | None = None
    terms_version: int | None = None  # the version of the terms that made it

    def in_force(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


class StoredGrant(Protocol):
    """A grant as the database holds it (a row, or a row read into a page)."""

    @property
    def percent(self) -> int: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def reason(self) -> str: ...
    @property
    def level(self) -> int | None: ...
    @property
    def terms_version(self) -> int | None: ...


def grant_of(stored: StoredGrant) -> Grant:
    reason: GrantReason = "referee" if stored.reason == "referee" else "referrer"
    return Grant(
        stored.percent,
        stored.starts_at,
        stored.ends_at,
        reason,
        stored.level,
        stored.terms_version,
    )


def referee_grant(
    now: datetime, promo_until: datetime | None, zone: tzinfo, terms: TermsNumbers
) -> Grant:
    """The referee's percent for its months (20% for 3 in the help page's terms), starting
    once the promo period is over; `terms` are those in force at the activation `now`."""
    start = now if promo_until is None else max(now, promo_until)
    end = period_end(start, terms.referee_months, zone)
    return Grant(terms.referee_percent, start, end, "referee", None, terms.version)


@dataclass(frozen=True)
class Reward:
    """What a referrer gets for one activation."""

    close_at: datetime | None  # the running referrer grant ends here, if there was one
    grant: Grant
    sms_packs: tuple[int, ...]


def referrer_reward(
    running: Grant | None,
    referred_before: int,
    packs_held: Iterable[int],
    now: datetime,
    zone: tzinfo,
    terms: TermsNumbers,
) -> Reward:
    """The ladder: one level up (at most the top level) while a referrer grant is in force,
    else level 1; `terms` are those in force at the activation `now`.

    `running` is the referrer's latest referrer grant (or None); only if it is in force at `now`
    does it count, and then it is closed at `now` so that referrer grants never overlap. The
    level continues across a change of terms: the running grant's level + 1 of the new terms.
    A pack size the referrer already holds is never given again, whatever the terms say.
    """
    active = running if running is not None and running.in_force(now) else None
    level = 1 if active is None else min(terms.top_level, (active.level or 0) + 1)
    reached = terms.step(level)
    end = period_end(now, reached.months, zone)
    grant = Grant(reached.percent, now, end, "referrer", level, terms.version)
    count = referred_before + 1
    held = set(packs_held)
    packs = tuple(
        s.sms_pack
        for s in terms.ladder
        if s.sms_pack is not None and s.level == count and s.sms_pack not in held
    )
    return Reward(None if active is None else now, grant, packs)


@dataclass(frozen=True)
class LadderResult:
    grants: tuple[Grant, ...]
    sms_packs: tuple[tuple[int, datetime], ...]


def ladder(activations: Sequence[datetime], zone: tzinfo, terms_at: TermsAt) -> LadderResult:
    """A referrer's grants and packs from its activations, replayed in order, each activation
    under the terms in force at its moment (`terms_at`, e.g. `Schedule.at`).

    The services apply `referrer_reward` one activation at a time; this fold is the same rule
    run over a whole history, for checking and for recomputing.
    """
    grants: list[Grant] = []
    packs: list[tuple[int, datetime]] = []
    for count, moment in enumerate(sorted(activations)):
        reward = referrer_reward(
            grants[-1] if grants else None,
            count,
            (size for size, _ in packs),
            moment,
            zone,
            terms_at(moment),
        )
        if reward.close_at is not None:
            grants[-1] = replace(grants[-1], ends_at=reward.close_at)
        grants.append(reward.grant)
        packs.extend((size, moment) for size in reward.sms_packs)
    return LadderResult(tuple(grants), tuple(packs))


def discount_at(grants: Iterable[Grant], at: datetime, terms: TermsNumbers) -> int:
    """«Ваша скидка»: the sum of the grants in force at `at`, at most the cap of `terms`, the
    terms in force at `at` (100% in the help page's terms)."""
    return min(terms.max_discount_percent, sum(g.percent for g in grants if g.in_force(at)))


# ---- revoking a referral -------------------------------------------------------------------


@dataclass(frozen=True)
class HeldGrant:
    """A referrer grant the database holds (not voided), and the activation that gave it."""

    grant_id: int
    referral_id: int
    grant: Grant


@dataclass(frozen=True)
class Recomputed:
    """How to make a referrer's rows equal `ladder()` of its remaining activations."""

    void: tuple[int, ...]  # ids of held grants from the first one off the replay onward
    issue: tuple[tuple[int, Grant], ...]  # (referral id, grant) to add in their place
    reverse_packs: tuple[int, ...]  # held pack sizes whose threshold the count no longer reaches


def recompute_ladder(
    held: Iterable[HeldGrant],
    packs_held: Iterable[int],
    activations: Iterable[tuple[int, datetime]],
    zone: tzinfo,
    terms_at: TermsAt,
) -> Recomputed:
    """Replay the ladder over `activations` ((referral id, moment), the revoked referral left
    out) and compare it with what is held, in activation order.

    The held grants stay up to the first activation whose held grant is not exactly the one the
    replay gives it; from there on every held grant is voided and the replay's grants are issued.
    So the grants before the revoked activation stay, the one it closed early comes back with
    its full end (a new row; the closed one is voided), and every grant from the revoked
    activation onward is replaced. New rows come after the kept ones, so the grants' order by
    (start, id) stays the activation order that `services._apply_code` relies on.

    SMS packs go by the lifetime count: a held size whose threshold the count no longer reaches
    is reversed; a size still reached is kept as it was granted.
    """
    ordered = sorted(activations, key=lambda a: (a[1], a[0]))
    replay = ladder([moment for _, moment in ordered], zone, terms_at)
    by_referral: dict[int, list[HeldGrant]] = {}
    for h in held:
        by_referral.setdefault(h.referral_id, []).append(h)
    issue: list[tuple[int, Grant]] = []
    for (referral_id, _), expected in zip(ordered, replay.grants, strict=True):
        rows = by_referral.get(referral_id, [])
        if not issue and len(rows) == 1 and rows[0].grant == expected:
            del by_referral[referral_id]  # kept
        else:
            issue.append((referral_id, expected))
    void = tuple(sorted(h.grant_id for rows in by_referral.values() for h in rows))
    reached = {size for size, _ in replay.sms_packs}
    reverse = tuple(sorted(size for size in set(packs_held) if size not in reached))
    return Recomputed(void, tuple(issue), reverse)


# ---- the way forward, as the page tells it ------------------------------------------------


@dataclass(frozen=True)
class Stretch:
    """A stretch of time over which «Ваша скидка» stays the same: `percent` from the end of
    the stretch before it (or from `now`) until `until`."""

    percent: int
    until: datetime


def discount_timeline(
    grants: Iterable[Grant],
    now: datetime,
    terms_at: TermsAt,
    changes: Iterable[datetime] = (),
) -> tuple[Stretch, ...]:
    """«Ваша скидка» from `now` on, stretch by stretch, until the last grant ends: at every
    moment of a stretch, `discount_at` of `grants` under the terms in force then is the
    stretch's percent (grants start and end only at the stretches' bounds, and so may the terms
    at `changes`: the moments the schedule's versions start or end). Empty: no discount ahead."""
    ahead = [g for g in grants if g.ends_at > now]
    last = max((g.ends_at for g in ahead), default=now)
    bounds = sorted(
        {now, *(m for g in ahead for m in (g.starts_at, g.ends_at) if now < m <= last)}
        | {m for m in changes if now < m < last}
    )
    stretches: list[Stretch] = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        percent = discount_at(ahead, start, terms_at(start))
        if stretches and stretches[-1].percent == percent:
            stretches[-1] = Stretch(percent, end)
        else:
            stretches.append(Stretch(percent, end))
    while stretches and stretches[-1].percent == 0:
        stretches.pop()
    return tuple(stretches)


@dataclass(frozen=True)
class NextReferral:
    """What one more referred client would give a member at `now` («Еще 1 клиент — и …»)."""

    grant: Grant  # the referrer grant it would issue (its percent, level and end)
    discount_percent: int  # «Ваша скидка» right after it: the grants in force, that one included
    extends: bool  # a referrer grant is in force: one level up (or the top level, extended)
    level_before: int | None  # the level of the referrer grant in force, if any
    restarts: bool  # the member had a ladder and it has ended: it starts again at level 1
    sms_pack: int | None  # the pack the new lifetime count reaches, if any
    # «Ваша скидка» from then on, stretch by stretch: every grant the member holds (those that
    # start later too) with the new one, the running referrer grant closed at `now`
    timeline: tuple[Stretch, ...] = ()


def next_referral(
    in_force: Iterable[Grant],
    referred_count: int,
    packs_held: Iterable[int],
    now: datetime,
    zone: tzinfo,
    terms: TermsNumbers,
    terms_at: TermsAt | None = None,
    changes: Iterable[datetime] = (),
) -> NextReferral:
    """The referrer reward a new activation at `now` would bring (`referrer_reward`, the same
    rule the services apply), and the discount the member would then have, now and later.

    `in_force` are the member's grants in force at `now` or later (voided ones left out);
    `terms` are those in force at `now`, `terms_at` (default: `terms` at every moment) and
    `changes` those of later moments, for the timeline's cap."""
    held = list(in_force)
    current = [g for g in held if g.in_force(now)]
    ladder_grants = [g for g in current if g.reason == "referrer"]
    running = max(ladder_grants, key=lambda g: g.starts_at) if ladder_grants else None
    reward = referrer_reward(running, referred_count, packs_held, now, zone, terms)
    kept = [g for g in current if g is not running]
    after = [g for g in held if g is not running] + [reward.grant]
    return NextReferral(
        grant=reward.grant,
        discount_percent=discount_at([*kept, reward.grant], now, terms),
        extends=running is not None,
        level_before=None if running is None else running.level,
        restarts=running is None and referred_count > 0,
        sms_pack=reward.sms_packs[0] if reward.sms_packs else None,
        timeline=discount_timeline(after, now, terms_at or (lambda _: terms), changes),
    )


@dataclass(frozen=True)
class RefereeOffer:
    """What a client that may still apply a code gets from it, before applying."""

    grant: Grant  # the referee grant applying now would give
    months: int
    waits_for_promo: bool  # it starts when the promo period ends, not now
    deadline: datetime  # the last moment a code may be applied


def referee_offer(client: Party, now: datetime, zone: tzinfo, terms: TermsNumbers) -> RefereeOffer:
    """`terms` are those in force at `now`: the ones applying a code now would be under."""
    grant = referee_grant(now, client.promo_until, zone, terms)
    return RefereeOffer(
        grant=grant,
        months=terms.referee_months,
        waits_for_promo=grant.starts_at > now,
        deadline=apply_deadline(client.registered_at, zone, terms),
    )


def lasted_no_time(grant: Grant) -> bool:
    """A grant closed within the minute it started (two activations in one minute): shown, it
    would read «22:04 – 22:04», like a duplicate of the next one. Moments are shown to the
    minute, so «no time» is «the same minute»."""
    return grant.ends_at.replace(second=0, microsecond=0) <= grant.starts_at.replace(
        second=0, microsecond=0
    )
