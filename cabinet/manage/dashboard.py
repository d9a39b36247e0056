"""The program dashboard: numbers computed once, for the page, the chart and the CSV alike."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.invitations.errors import InvitationRefusal
from cabinet.invitations.models import Invitation
from cabinet.invitations.rules import normalise_phone
from cabinet.referrals.models import Grant, Member, Referral, SmsPack

WEEKS = 12
DAYS_PER_MONTH = 30  # «процент-месяцы» count months of 30 days


@dataclass(frozen=True)
class Week:
    starts: date
    referrals: int


@dataclass(frozen=True)
class ChannelStats:
    channel: str
    sent: int
    delivered: int
    failed: int
    pending: int


@dataclass(frozen=True)
class TopReferrer:
    id: int
    name: str
    referrals: int


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Dashboard:
    now: datetime
    clients: int
    members: int
    referrals: int
    weeks: tuple[Week, ...]
    channels: tuple[ChannelStats, ...]
    invitations_delivered: int
    invitations_converted: int
    top: tuple[TopReferrer, ...]
    liability_in_force: float
    liability_coming: float
    sms_packs: tuple[tuple[int, int], ...]  # (size, how many given)

    @property
    def conversion_percent(self) -> float:
        if not self.invitations_delivered:
            return 0.0
        return round(100 * self.invitations_converted / self.invitations_delivered, 1)

    @property
    def sms_total(self) -> int:
        return sum(size * count for size, count in self.sms_packs)

    def bars(self, width: float = 640, height: float = 180) -> tuple[Bar, ...]:
        """The weekly chart's bars, laid out for an SVG of `width` × `height` (+ labels)."""
        top = max((w.referrals for w in self.weeks), default=0) or 1
        slot = width / max(len(self.weeks), 1)
        bars = []
        for n, week in enumerate(self.weeks):
            h = height * week.referrals / top
            bars.append(
                Bar(
                    n * slot + slot * 0.15,
                    height - h + 20,
                    h,
                    week.starts.strftime("%d.%m"),
                    week.referrals,
                )
            )
        return tuple(bars)


def build(now: datetime, zone: ZoneInfo) -> Dashboard:
    local_today = now.astimezone(zone).date()
    this_monday = local_today - timedelta(days=local_today.weekday())
    first_monday = this_monday - timedelta(weeks=WEEKS - 1)
    since = datetime.combine(first_monday, datetime.min.time(), zone)
    counts = dict.fromkeys((first_monday + timedelta(weeks=n) for n in range(WEEKS)), 0)
    for (moment,) in db.session.execute(
        select(Referral.activated_at).where(
            Referral.activated_at >= since,
            Referral.activated_at <= now,
            Referral.revoked_at.is_(None),
        )
    ):
        day = moment.astimezone(zone).date()
        monday = day - timedelta(days=day.weekday())
        if monday in counts:
            counts[monday] += 1

    channels = []
    by_status = {
        (channel, status): n
        for channel, status, n in db.session.execute(
            select(Invitation.channel, Invitation.status, func.count()).group_by(
                Invitation.channel, Invitation.status
            )
        )
    }
    for channel in ("sms", "email"):
        sent = sum(n for (c, _), n in by_status.items() if c == channel)
        channels.append(
            ChannelStats(
                channel,
                sent,
                by_status.get((channel, "sent"), 0),
                by_status.get((channel, "failed"), 0),
                by_status.get((channel, "queued"), 0) + by_status.get((channel, "sending"), 0),
            )
        )

    delivered, converted = _conversion()
    in_force = coming = 0.0
    for percent, starts, ends in db.session.execute(
        select(Grant.percent, Grant.starts_at, Grant.ends_at).where(
            Grant.ends_at > now, Grant.revoked_at.is_(None)
        )
    ):
        if starts <= now:
            in_force += percent * (ends - now) / timedelta(days=DAYS_PER_MONTH)
        else:
            coming += percent * (ends - starts) / timedelta(days=DAYS_PER_MONTH)

    top = tuple(
        TopReferrer(*row)
        for row in db.session.execute(
            select(Client.id, Client.name, func.count(Referral.id).label("n"))
            .join(Referral, Referral.referrer_id == Client.id)
            .where(Referral.revoked_at.is_(None))
            .group_by(Client.id, Client.name)
            .order_by(func.count(Referral.id).desc(), Client.id)
            .limit(10)
        )
    )
    return Dashboard(
        now=now,
        clients=db.session.scalar(select(func.count()).select_from(Client)) or 0,
        members=db.session.scalar(select(func.count()).select_from(Member)) or 0,
        referrals=db.session.scalar(
            select(func.count()).select_from(Referral).where(Referral.revoked_at.is_(None))
        )
        or 0,
        weeks=tuple(Week(monday, n) for monday, n in sorted(counts.items())),
        channels=tuple(channels),
        invitations_delivered=delivered,
        invitations_converted=converted,
        top=top,
        liability_in_force=round(in_force, 1),
        liability_coming=round(coming, 1),
        sms_packs=tuple(
            (size, n)
            for size, n in db.session.execute(
                select(SmsPack.size, func.count())
                .where(SmsPack.revoked_at.is_(None))
                .group_by(SmsPack.size)
                .order_by(SmsPack.size)
            )
        ),
    )


def _conversion() -> tuple[int, int]:
    """Delivered invitations, and how many of them led to the recipient applying the inviting
    member's code (matched by the referee's e-mail or phone)."""
    delivered = {
        (member, recipient)
        for member, recipient in db.session.execute(
            select(Invitation.member_id, Invitation.recipient).where(Invitation.status == "sent")
        )
    }
    converted = set()
    for referrer, email, phone in db.session.execute(
        select(Referral.referrer_id, Client.email, Client.phone)
        .join(Client, Client.id == Referral.referee_id)
        .where(Referral.revoked_at.is_(None))
    ):
        for contact in (email, _e164(phone)):
            if contact and (referrer, contact) in delivered:
                converted.add((referrer, contact))
    return len(delivered), len(converted)


def _e164(phone: str | None) -> str | None:
    if not phone:
        return None
    try:
        return normalise_phone(phone, ("RU",))
    except InvitationRefusal:
        return None


def as_csv(board: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["показатель", "значение"])
    rows: list[tuple[str, object]] = [
        ("клиентов", board.clients),
        ("участников программы", board.members),
        ("рефералов всего", board.referrals),
        ("приглашений доставлено", board.invitations_delivered),
        ("приглашений привели к коду", board.invitations_converted),
        ("конверсия, %", board.conversion_percent),
        ("скидка в силе, процент-месяцев", board.liability_in_force),
        ("скидка ожидает начала, процент-месяцев", board.liability_coming),
        ("SMS в подарок всего", board.sms_total),
    ]
    rows += [(f"приглашений {c.channel}: отправлено", c.sent) for c in board.channels]
    rows += [(f"приглашений {c.channel}: доставлено", c.delivered) for c in board.channels]
    rows += [(f"приглашений {c.channel}: не доставлено", c.failed) for c in board.channels]
    rows += [(f"рефералов за неделю с {w.starts:%d.%m.%Y}", w.referrals) for w in board.weeks]
    rows += [(f"топ: {t.id} {t.name}", t.referrals) for t in board.top]
    rows += [(f"пакетов по {size} SMS", n) for size, n in board.sms_packs]
    writer.writerows(rows)
    return out.getvalue()
