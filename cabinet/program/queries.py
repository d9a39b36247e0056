"""What «Условия программы» shows: the versions by state, and the data a preview runs on."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, select

from cabinet.clients.models import Client, Payment
from cabinet.db import db
from cabinet.program import errors, rules
from cabinet.referrals import queries as referral_queries
from cabinet.referrals.models import Grant, Member, ProgramTerms, Referral, SmsPack
from cabinet.referrals.rules import Schedule, Version, grant_of


@dataclass(frozen=True)
class VersionLine:
    version: Version
    status: str  # draft | published | withdrawn
    state: str  # «действует», «с 01.12.2026», «завершена», «черновик», «отозвана»


@dataclass(frozen=True)
class Versions:
    in_force: Version
    upcoming: tuple[VersionLine, ...]
    drafts: tuple[VersionLine, ...]
    past: tuple[VersionLine, ...]  # published versions not in force now and not upcoming
    withdrawn: tuple[VersionLine, ...]


def versions(now: datetime) -> Versions:
    rows = db_rows()
    published = Schedule(tuple(r.as_version() for r in rows if r.status == "published"))
    current = published.version_at(now)
    upcoming = {v.terms.version for v in published.upcoming(now)}
    then = None if current.ends_at is None else published.version_at(current.ends_at)

    def line(row: ProgramTerms, state: str) -> VersionLine:
        return VersionLine(row.as_version(), row.status, state)

    return Versions(
        in_force=current,
        upcoming=tuple(
            line(r, "предстоит" if r.effective_from > now else "вступит в силу после акции")
            for r in rows
            if r.status == "published" and r.id in upcoming
        ),
        drafts=tuple(line(r, "черновик") for r in rows if r.status == "draft"),
        past=tuple(
            line(r, _past_state(r.as_version(), then, now))
            for r in reversed(rows)
            if r.status == "published" and r.id not in upcoming and r.id != current.terms.version
        ),
        withdrawn=tuple(line(r, "отозвана") for r in rows if r.status == "withdrawn"),
    )


def _past_state(version: Version, then: Version | None, now: datetime) -> str:
    if then is not None and then.terms.version == version.terms.version:
        return "снова в силе после акции"
    if version.covers(now):
        return "заменена более новой версией"
    return "завершена"


def db_rows() -> list[ProgramTerms]:
    return list(
        db.session.scalars(
            select(ProgramTerms).order_by(ProgramTerms.effective_from, ProgramTerms.id)
        )
    )


def find(version: int) -> ProgramTerms:
    row = db.session.get(ProgramTerms, version)
    if row is None:
        raise errors.TermsNotFound(version)
    return row


def member_ladders() -> list[rules.MemberLadder]:
    """Every member's latest referrer grant, lifetime count and packs held: three statements
    however many members there are."""
    latest = (
        select(
            Grant,
            func.row_number()
            .over(partition_by=Grant.client_id, order_by=(Grant.starts_at.desc(), Grant.id.desc()))
            .label("n"),
        )
        .where(Grant.reason == "referrer", Grant.revoked_at.is_(None))
        .subquery()
    )
    running = {
        row.client_id: grant_of(row)
        for row in db.session.execute(select(latest).where(latest.c.n == 1)).all()
    }
    counts: dict[int, int] = {
        referrer_id: n
        for referrer_id, n in db.session.execute(
            select(Referral.referrer_id, func.count())
            .where(Referral.revoked_at.is_(None))
            .group_by(Referral.referrer_id)
        )
    }
    packs: dict[int, list[int]] = {}
    for client_id, size in db.session.execute(
        select(SmsPack.client_id, SmsPack.size).where(SmsPack.revoked_at.is_(None))
    ):
        packs.setdefault(client_id, []).append(size)
    return [
        rules.MemberLadder(
            client_id,
            running.get(client_id),
            int(counts.get(client_id, 0)),
            tuple(packs.get(client_id, ())),
        )
        for client_id in db.session.scalars(select(Member.client_id).order_by(Member.client_id))
    ]


def preview(row: ProgramTerms, now: datetime, zone: tzinfo) -> rules.Preview:
    """The draft judged against the terms that would otherwise be in force when it takes
    effect (its start; for regular terms starting during a campaign, the campaign's end)."""
    schedule = referral_queries.schedule()
    draft = row.as_version()
    at = max(now, schedule.takes_effect(draft))
    current = schedule.at(at)
    judged = rules.preview(member_ladders(), current, row.as_terms(), at, zone)
    recent = recent_referrals(now - timedelta(days=rules.WAIT_LOOKBACK_DAYS))
    return replace(
        judged,
        notes=rules.schedule_notes(schedule, draft, zone),
        recent=len(recent),
        waiting=rules.rewards_waiting(recent, row.as_terms()),
    )


def recent_referrals(since: datetime) -> list[rules.RecentReferral]:
    """The live referrals activated since `since`, with their referees' promo periods,
    closures and payments: one statement."""
    rows = db.session.execute(
        select(
            Referral.id,
            Referral.activated_at,
            Client.promo_until,
            Client.closed_at,
            Payment.paid_at,
        )
        .join(Client, Client.id == Referral.referee_id)
        .outerjoin(Payment, Payment.client_id == Referral.referee_id)
        .where(Referral.activated_at >= since, Referral.revoked_at.is_(None))
        .order_by(Referral.id)
    ).all()
    found: dict[int, rules.RecentReferral] = {}
    for referral_id, activated_at, promo_until, closed_at, paid_at in rows:
        known = found.get(referral_id) or rules.RecentReferral(
            activated_at, promo_until, (), closed_at
        )
        if paid_at is not None:
            known = replace(known, payments=(*known.payments, paid_at))
        found[referral_id] = known
    return list(found.values())
