"""Finance's monthly report: the month's rows read, the rules applied (cabinet/finance/rules.py).

Six statements whatever the size of the program: the published terms, the grants in force in
the month, their clients' payments, the referrals that matter to the month, the SMS packs
granted in it, and the titles of the versions met."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import and_, or_, select

from cabinet.clients.models import Payment
from cabinet.db import read
from cabinet.finance.rules import (
    GrantRow,
    Month,
    MonthReport,
    PackRow,
    ReferralRow,
    last_paid_amounts,
    month_report,
)
from cabinet.referrals import queries as referral_queries
from cabinet.referrals.models import Grant, ProgramTerms, Referral, SmsPack


@dataclass(frozen=True)
class VersionName:
    version: int
    title: str
    campaign: bool


@dataclass(frozen=True)
class Built:
    report: MonthReport
    names: dict[int, VersionName]


def build(month: Month, zone: tzinfo) -> Built:
    start, end = month.bounds(zone)
    schedule = referral_queries.schedule()

    def cap_at(moment: datetime) -> int:
        return schedule.at(moment).max_discount_percent

    grants = [
        GrantRow(*row)
        for row in read(
            select(
                Grant.client_id, Grant.terms_version, Grant.percent, Grant.starts_at, Grant.ends_at
            ).where(Grant.revoked_at.is_(None), Grant.starts_at < end, Grant.ends_at > start)
        )
    ]
    clients = sorted({g.client_id for g in grants})
    payments = (
        list(
            read(
                select(
                    Payment.client_id, Payment.paid_at, Payment.id, Payment.amount_kopecks
                ).where(Payment.client_id.in_(clients), Payment.paid_at < end)
            )
        )
        if clients
        else []
    )
    referrals = [
        ReferralRow(schedule.at(activated).version, activated, qualified, clawed, None)
        for activated, qualified, clawed in read(
            select(Referral.activated_at, Referral.qualified_at, Referral.clawed_back_at).where(
                Referral.revoked_at.is_(None),
                or_(
                    and_(Referral.qualified_at >= start, Referral.qualified_at < end),
                    and_(Referral.clawed_back_at >= start, Referral.clawed_back_at < end),
                    and_(
                        Referral.activated_at < end,
                        or_(Referral.qualified_at.is_(None), Referral.qualified_at >= end),
                    ),
                ),
            )
        )
    ]
    packs = [
        PackRow(*row)
        for row in read(
            select(
                SmsPack.terms_version, SmsPack.size, SmsPack.granted_at, SmsPack.revoked_at
            ).where(
                SmsPack.revoked_at.is_(None), SmsPack.granted_at >= start, SmsPack.granted_at < end
            )
        )
    ]
    report = month_report(
        month,
        zone,
        grants,
        referrals,
        packs,
        last_paid_amounts(((c, at, i, k) for c, at, i, k in payments), end),
        cap_at,
    )
    versions = [line.version for line in report.lines]
    names = {
        version: VersionName(version, title, ends_at is not None)
        for version, title, ends_at in (
            read(
                select(ProgramTerms.id, ProgramTerms.title, ProgramTerms.ends_at).where(
                    ProgramTerms.id.in_(versions)
                )
            )
            if versions
            else []
        )
    }
    return Built(report, names)
