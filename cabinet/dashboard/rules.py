"""The program dashboard's arithmetic: pure functions over the numbers the queries read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from cabinet.invitations.rules import Limits, is_new_member

WEEKS = 12
DAYS_PER_MONTH = 30  # «процент-месяцы» count months of 30 days
CHANNELS = ("sms", "email")
PENDING_STATUSES = ("queued", "sending")


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
class ConversionRow:
    """A row of «Конверсия по каналам»: messages the cabinet sent (e-mail and SMS only; a
    shared link is sent by the member, so the cabinet does not know), and the codes applied
    that the channel brought, with the referrer's discount granted of them."""

    label: str
    sent: int | None  # the gateway took it («отправлено»)
    delivered: int | None  # the gateway's receipt said «delivered»
    applied: int  # live referrals the channel brought
    granted: int  # of them, those the referrer's discount came of


# The dashboard's channels (docs/invitations.md, «Conversion by channel»): each a label and
# the channels kept at the activation (cabinet/invitations/attribution.py) it sums.
CONVERSION_CHANNELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("E-mail", ("email",)),
    ("SMS", ("sms",)),
    ("Ссылка и QR-код", ("link", "qr")),
    ("Мессенджеры", ("telegram", "whatsapp", "share")),
)
SENT_CHANNELS = ("email", "sms")  # the cabinet sends these itself
NO_CHANNEL = "Код без приглашения"
TOTAL = "Всего"


def conversion_by_channel(
    messages: Mapping[str, tuple[int, int]], applied: Mapping[str | None, tuple[int, int]]
) -> tuple[ConversionRow, ...]:
    """From (sent, delivered) per message channel and (applied, granted) per kept channel
    (None: none kept, a code typed in): a row per dashboard channel, «Код без приглашения»,
    and «Всего»."""
    rows = []
    for label, kept in CONVERSION_CHANNELS:
        sends = [messages.get(c, (0, 0)) for c in kept if c in SENT_CHANNELS]
        rows.append(
            ConversionRow(
                label,
                sum(s for s, _ in sends) if sends else None,
                sum(d for _, d in sends) if sends else None,
                sum(applied.get(c, (0, 0))[0] for c in kept),
                sum(applied.get(c, (0, 0))[1] for c in kept),
            )
        )
    typed = applied.get(None, (0, 0))
    rows.append(ConversionRow(NO_CHANNEL, None, None, typed[0], typed[1]))
    rows.append(
        ConversionRow(
            TOTAL,
            sum(r.sent or 0 for r in rows),
            sum(r.delivered or 0 for r in rows),
            sum(r.applied for r in rows),
            sum(r.granted for r in rows),
        )
    )
    return tuple(rows)


@dataclass(frozen=True)
class TopReferrer:
    id: int
    name: str
    referrals: int


@dataclass(frozen=True)
class Bar:
    """One week of the chart: a row of a table (its text reads at any width), with a bar as
    long as `share` percent of the busiest week's."""

    starts: date
    value: int
    share: float  # 0..100


@dataclass(frozen=True)
class SmsBudget:
    """Today's SMS invitations against the day's budget (docs/invitations.md, «SMS per
    member»)."""

    used: int
    budget: int
    reserve: int
    by_new_members: int
    members_at_cap: int

    @property
    def percent(self) -> float:
        return round(100 * self.used / self.budget, 1) if self.budget else 100.0


def sms_budget(
    sent_today: Iterable[tuple[int, datetime]], now: datetime, limits: Limits
) -> SmsBudget:
    """From (SMS sent today, member since) per member."""
    used = by_new = at_cap = 0
    for count, member_since in sent_today:
        new = is_new_member(member_since, now, limits)
        used += count
        by_new += count if new else 0
        at_cap += count >= limits.sms_allowance(new)
    return SmsBudget(used, limits.sms_daily_budget, limits.sms_reserve, by_new, at_cap)


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
    sms_budget: SmsBudget | None = None
    conversion: tuple[ConversionRow, ...] = ()  # by channel, «Всего» last

    @property
    def conversion_percent(self) -> float | None:
        return conversion_percent(self.invitations_delivered, self.invitations_converted)

    @property
    def sms_total(self) -> int:
        return sum(size * count for size, count in self.sms_packs)

    @property
    def days_per_month(self) -> int:
        return DAYS_PER_MONTH

    @property
    def chart(self) -> tuple[Bar, ...]:
        return chart(self.weeks)


def week_mondays(now: datetime, zone: tzinfo, weeks: int = WEEKS) -> tuple[date, ...]:
    """The Mondays (in the cabinet's zone) of the last `weeks` weeks, this one last."""
    today = now.astimezone(zone).date()
    this_monday = today - timedelta(days=today.weekday())
    return tuple(this_monday - timedelta(weeks=n) for n in reversed(range(weeks)))


def referrals_by_week(
    activations: Iterable[datetime], mondays: tuple[date, ...], zone: tzinfo
) -> tuple[Week, ...]:
    counts = dict.fromkeys(mondays, 0)
    for moment in activations:
        day = moment.astimezone(zone).date()
        monday = day - timedelta(days=day.weekday())
        if monday in counts:
            counts[monday] += 1
    return tuple(Week(monday, n) for monday, n in counts.items())


def channel_stats(by_status: Mapping[tuple[str, str], int]) -> tuple[ChannelStats, ...]:
    """Invitations per channel: all sent to the outbox, delivered, failed, still pending."""
    return tuple(
        ChannelStats(
            channel,
            sum(n for (c, _), n in by_status.items() if c == channel),
            by_status.get((channel, "sent"), 0),
            by_status.get((channel, "failed"), 0),
            sum(by_status.get((channel, s), 0) for s in PENDING_STATUSES),
        )
        for channel in CHANNELS
    )


def liability(
    grants: Iterable[tuple[int, datetime, datetime]], now: datetime
) -> tuple[float, float]:
    """Discount still owed, in percent-months: of grants in force (from now to their end) and
    of grants that have not started (their whole length)."""
    month = timedelta(days=DAYS_PER_MONTH)
    in_force = coming = 0.0
    for percent, starts, ends in grants:
        if ends <= now:
            continue
        if starts <= now:
            in_force += percent * (ends - now) / month
        else:
            coming += percent * (ends - starts) / month
    return round(in_force, 1), round(coming, 1)


def conversion_percent(delivered: int, converted: int) -> float | None:
    """None while nothing was delivered: 0 of 0 is no rate at all."""
    return round(100 * converted / delivered, 1) if delivered else None


def chart(weeks: tuple[Week, ...]) -> tuple[Bar, ...]:
    """The weekly chart: each week's bar as a share of the busiest week."""
    top = max((w.referrals for w in weeks), default=0) or 1
    return tuple(Bar(w.starts, w.referrals, round(100 * w.referrals / top, 1)) for w in weeks)
