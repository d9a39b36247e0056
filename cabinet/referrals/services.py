"""Joining the program and applying a code: load, call the rules, write, commit once.

Exactly once under concurrency: a write starts with `with transaction()` (SQLite: BEGIN IMMEDIATE,
one writer at a time), then locks the rows of both clients in ID order (PostgreSQL: FOR UPDATE),
and only then reads the state and the clock. So activations of one referrer are serialised and
their moments are in lock order, which makes activation order the ladder's order.
An activation also holds the terms lock (`lock_terms`) shared before it reads the clock, and
publishing a version takes it exclusively before it reads the clock: a version whose start is
later than its publish's clock is in every activation from its start on.
The events a change produces (cabinet/events) are written in the same transaction, last.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from cabinet import events, metrics
from cabinet.clients import errors as client_errors
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db, is_postgresql, transaction
from cabinet.errors import ProgramRefusal
from cabinet.moments import show_moment
from cabinet.referrals import errors, queries, rules
from cabinet.referrals.models import Grant, Member, Referral, SmsPack

_CODE_ATTEMPTS = 8


@dataclass(frozen=True)
class Activated:
    """One activation, as listeners see it (inside its transaction, its rows flushed)."""

    referral_id: int
    referrer_id: int
    referee_id: int
    referee_name: str
    activated_at: datetime
    terms: rules.TermsNumbers
    reward: rules.Grant  # the referrer's grant for this activation


# Features above this layer that act on an activation in its transaction (the invitations'
# outbox queues the referrer's notice «Клиент … применил ваш код»): registered by the app.
_ACTIVATION_LISTENERS: list[Callable[[Context, Activated], None]] = []


def on_activation(listener: Callable[[Context, Activated], None]) -> None:
    """Call `listener` in each activation's transaction, after its rows and events."""
    if listener not in _ACTIVATION_LISTENERS:
        _ACTIVATION_LISTENERS.append(listener)


@dataclass(frozen=True)
class JoinResult:
    client_id: int
    code: str
    referrer_id: int | None
    activated_at: datetime | None
    terms: rules.TermsNumbers | None = None  # the terms the activation was judged by


def join(
    context: Context,
    client_id: int,
    raw_code: str | None = None,
    before_commit: Callable[[JoinResult], None] | None = None,
) -> JoinResult:
    """Join the program («У меня нет кода»), or apply a friend's code (joining if need be).

    `before_commit` adds to the same transaction (a manager's audit entry)."""
    try:
        code = None if raw_code is None else rules.parse_code(raw_code)
        with transaction():
            if code is None:
                result = _join_without_code(context, client_id)
            else:
                result = _apply_code(context, client_id, code)
            if before_commit is not None:
                before_commit(result)
    except ProgramRefusal as refusal:
        if raw_code is not None:  # a refused code, by reason (applied ones count at commit)
            metrics.CODES_REFUSED.labels(reason=type(refusal).__name__).inc()
        raise
    return result


def _join_without_code(context: Context, client_id: int) -> JoinResult:
    client = lock_clients([client_id]).get(client_id)
    if client is None:
        raise client_errors.ClientNotFound(client_id)
    rules.check_join(_party(client))
    now = context.clock.now()
    member = _enrol(context, client_id, now)
    events.record(context, "client_joined", client_id=client_id, at=now, data={"referrer_id": None})
    return JoinResult(client_id, member.code, None, None)


def _apply_code(context: Context, client_id: int, code: str) -> JoinResult:
    # A code never changes owner, so finding the owner before taking the locks is safe.
    referrer_id = db.session.scalar(select(Member.client_id).where(Member.code == code))
    locked = lock_clients([client_id] if referrer_id is None else [client_id, referrer_id])
    referee_client = locked.get(client_id)
    if referee_client is None:
        raise client_errors.ClientNotFound(client_id)
    lock_terms(for_change=False)  # before the clock: a publish under way lands first
    zone = context.timezone
    now = context.clock.now()
    # The activation is judged by the terms in force at its moment, and its rows name them.
    terms = queries.schedule().at(now)
    referee = _party(referee_client)
    rules.check_can_apply(referee, now, zone, terms)  # before the code is looked at
    if referrer_id is None:
        raise errors.CodeNotFound()
    rules.check_application(referee, _party(locked[referrer_id]), now, zone, terms)
    last_activation = db.session.scalar(
        select(func.max(Referral.activated_at)).where(
            Referral.referrer_id == referrer_id, Referral.revoked_at.is_(None)
        )
    )
    if last_activation is not None and now < last_activation:
        raise errors.ActivationOutOfOrder(show_moment(last_activation, zone))

    member = referee_client.member
    joined_now = member is None
    if member is None:
        member = _enrol(context, client_id, now)
    referred_before = _referred_count(referrer_id)
    referral = Referral(referrer_id=referrer_id, referee_id=client_id, activated_at=now)
    db.session.add(referral)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the row lock makes this unreachable; the constraint backs it
        raise errors.CodeAlreadyApplied() from exc

    welcome = rules.referee_grant(now, referee_client.promo_until, zone, terms)
    welcome_row = grant_row(client_id, referral.id, welcome)
    db.session.add(welcome_row)

    running = db.session.scalars(
        select(Grant)
        .where(
            Grant.client_id == referrer_id,
            Grant.reason == "referrer",
            Grant.revoked_at.is_(None),
        )
        .order_by(Grant.starts_at.desc(), Grant.id.desc())
        .limit(1)
    ).first()
    packs_held = db.session.scalars(
        select(SmsPack.size).where(SmsPack.client_id == referrer_id, SmsPack.revoked_at.is_(None))
    )
    reward = rules.referrer_reward(
        None if running is None else rules.grant_of(running),
        referred_before,
        packs_held,
        now,
        zone,
        terms,
    )
    closed = None
    if reward.close_at is not None and running is not None:
        running.ends_at = reward.close_at
        closed = running
    reward_row = grant_row(referrer_id, referral.id, reward.grant)
    db.session.add(reward_row)
    packs = [
        SmsPack(
            client_id=referrer_id,
            referral_id=referral.id,
            size=size,
            granted_at=now,
            terms_version=terms.version,
        )
        for size in reward.sms_packs
    ]
    db.session.add_all(packs)
    db.session.flush()
    _record_activation(context, referral, joined_now, welcome_row, closed, reward_row, packs)
    activated = Activated(
        referral.id, referrer_id, client_id, referee_client.name, now, terms, reward.grant
    )
    for listener in _ACTIVATION_LISTENERS:
        listener(context, activated)
    return JoinResult(client_id, member.code, referrer_id, now, terms)


def _record_activation(
    context: Context,
    referral: Referral,
    joined_now: bool,
    welcome: Grant,
    closed: Grant | None,
    reward: Grant,
    packs: list[SmsPack],
) -> None:
    """The feed's events for one activation, last thing before the commit (see events)."""
    now = referral.activated_at
    if joined_now:
        events.record(
            context,
            "client_joined",
            client_id=referral.referee_id,
            at=now,
            data={"referrer_id": referral.referrer_id},
        )
    events.record(
        context,
        "referral_activated",
        client_id=referral.referrer_id,
        at=now,
        data={
            "referral_id": referral.id,
            "referrer_id": referral.referrer_id,
            "referee_id": referral.referee_id,
            "activated_at": now,
        },
    )
    events.record(
        context, "grant_issued", client_id=welcome.client_id, at=now, data=grant_data(welcome)
    )
    if closed is not None:
        events.record(
            context, "grant_closed", client_id=closed.client_id, at=now, data=grant_data(closed)
        )
    events.record(
        context, "grant_issued", client_id=reward.client_id, at=now, data=grant_data(reward)
    )
    for pack in packs:
        events.record(
            context,
            "sms_pack_granted",
            client_id=pack.client_id,
            at=now,
            data=pack_data(pack),
        )


def pack_data(pack: SmsPack) -> dict[str, object]:
    """An SMS pack as events describe it."""
    return {
        "sms_pack_id": pack.id,
        "size": pack.size,
        "granted_at": pack.granted_at,
        "referral_id": pack.referral_id,
        "terms_version": pack.terms_version,
    }


def grant_data(grant: Grant) -> dict[str, object]:
    return {
        "grant_id": grant.id,
        "percent": grant.percent,
        "starts_at": grant.starts_at,
        "ends_at": grant.ends_at,
        "reason": grant.reason,
        "level": grant.level,
        "referral_id": grant.referral_id,
        "terms_version": grant.terms_version,
    }


# PostgreSQL's advisory lock that activations hold shared and publishing holds exclusively.
TERMS_LOCK = 0x7465726D73  # «terms»


def lock_terms(*, for_change: bool) -> None:
    """The terms lock, until the transaction ends: shared for an activation (they never wait
    for each other), exclusive for publishing or withdrawing a version (it waits for the
    activations under way, and the next ones wait for its commit). SQLite needs none: its
    writers run one at a time (BEGIN IMMEDIATE)."""
    if is_postgresql():
        function = "pg_advisory_xact_lock" if for_change else "pg_advisory_xact_lock_shared"
        db.session.execute(text(f"SELECT {function}(:key)"), {"key": TERMS_LOCK})


def lock_clients(client_ids: Iterable[int]) -> dict[int, Client]:
    """Lock the clients' rows in ID order (no deadlock when two clients apply each other's
    codes at once); fresh values, whatever the session held before."""
    rows = db.session.scalars(
        select(Client)
        .where(Client.id.in_(sorted(set(client_ids))))
        .order_by(Client.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {row.id: row for row in rows}


def _party(client: Client) -> rules.Party:
    # A revoked referral still counts here: its referee has used its one application of a code
    # (docs/rules.md, «Отмена реферала»).
    referred_by = db.session.scalar(
        select(Referral.referrer_id).where(Referral.referee_id == client.id)
    )
    return rules.Party(
        client_id=client.id,
        active=client.active,
        registered_at=client.registered_at,
        promo_until=client.promo_until,
        is_member=client.member is not None,
        referred_by=referred_by,
    )


def _enrol(context: Context, client_id: int, now: datetime) -> Member:
    """Make the client a member with a fresh code; a collision (about one in 68 billion per
    pair) is retried inside a savepoint."""
    for _ in range(_CODE_ATTEMPTS):
        member = Member(
            client_id=client_id, code=rules.new_code(context.random_bytes), joined_at=now
        )
        try:
            with db.session.begin_nested():
                db.session.add(member)
        except IntegrityError:
            continue
        return member
    raise RuntimeError("could not draw an unused personal code")


def _referred_count(referrer_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(Referral.referrer_id == referrer_id, Referral.revoked_at.is_(None))
        )
        or 0
    )


def grant_row(client_id: int, referral_id: int, grant: rules.Grant) -> Grant:
    if grant.terms_version is None:  # pragma: no cover - every rule that issues a grant sets it
        raise ValueError("a grant must name the terms that made it")
    return Grant(
        terms_version=grant.terms_version,
        client_id=client_id,
        referral_id=referral_id,
        reason=grant.reason,
        level=grant.level,
        percent=grant.percent,
        starts_at=grant.starts_at,
        ends_at=grant.ends_at,
    )
