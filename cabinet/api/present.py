"""What the API answers: plain JSON values built from results (moments with the zone's offset)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from cabinet.billing import rules as billing
from cabinet.clients.models import Client
from cabinet.events.models import Event
from cabinet.events.queries import FeedPage
from cabinet.moments import iso_moment
from cabinet.referrals.queries import HistoryRow, Standing
from cabinet.referrals.rules import Schedule, TermsNumbers, Version

ROUNDING = {
    "mode": billing.ROUNDING,
    "unit": "kopeck",
    "description": (
        "Каждое деление округляется до копейки, половина копейки — вверх. Сумма строки делится "
        "между частями периода нарастающим итогом, поэтому части в сумме дают строку без остатка; "
        "скидка части = ее сумма × процент / 100, округленная так же."
    ),
}
SPLIT = (
    "День периода получает скидку, действующую в конце этого дня (в часовом поясе кабинета): "
    "скидки, начавшиеся до полуночи и действующие в полночь. Дни подряд с одной скидкой — одна "
    "часть строки."
)


def _moment(value: datetime | None, zone: tzinfo) -> str | None:
    return None if value is None else iso_moment(value, zone)


def client(row: Client, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "registered_at": iso_moment(row.registered_at, zone),
        "promo_until": _moment(row.promo_until, zone),
        "email": row.email,
        "phone": row.phone,
        "status": row.status,
        "member": row.member is not None,
    }


def grant(row: HistoryRow, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "percent": row.percent,
        "starts_at": iso_moment(row.starts_at, zone),
        "ends_at": iso_moment(row.ends_at, zone),
        "reason": row.reason,
        "level": row.level,
        "terms_version": row.terms_version,
    }


def terms(version: Version, zone: tzinfo) -> dict[str, Any]:
    t = version.terms
    return {
        "version": t.version,
        "title": version.title,
        "effective_from": iso_moment(version.effective_from, zone),
        "ends_at": _moment(version.ends_at, zone),
        "referee": {"percent": t.referee_percent, "months": t.referee_months},
        "apply_window_months": t.apply_window_months,
        "max_discount_percent": t.max_discount_percent,
        "ladder": [
            {"level": s.level, "percent": s.percent, "months": s.months, "sms_pack": s.sms_pack}
            for s in t.ladder
        ],
    }


def program(schedule: Schedule, at: datetime, zone: tzinfo) -> dict[str, Any]:
    current = schedule.version_at(at)
    then = None if current.ends_at is None else schedule.version_at(current.ends_at)
    return {
        "at": iso_moment(at, zone),
        "current": terms(current, zone),
        "then": None if then is None else terms(then, zone),
        "upcoming": [terms(v, zone) for v in schedule.upcoming(at)],
    }


def discount(standing: Standing, at: datetime, terms: TermsNumbers, zone: tzinfo) -> dict[str, Any]:
    return {
        "client_id": standing.client_id,
        "at": iso_moment(at, zone),
        "percent": standing.discount_percent,
        "terms_version": terms.version,
        "max_percent": terms.max_discount_percent,
        "grants": [grant(g, zone) for g in standing.in_force],
        "upcoming": [grant(g, zone) for g in standing.upcoming],
        "excluded_service_kinds": list(billing.EXCLUDED_KINDS),
    }


def _period(period: billing.Period | None) -> dict[str, Any] | None:
    if period is None:
        return None
    return {
        "first_day": period.first.isoformat(),
        "last_day": period.last.isoformat(),
        "days": period.days,
    }


def invoice(client_id: int, at: datetime, result: billing.Invoice, zone: tzinfo) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "at": iso_moment(at, zone),
        "currency": "RUB",
        "rounding": ROUNDING,
        "split": SPLIT,
        "excluded_service_kinds": list(billing.EXCLUDED_KINDS),
        "lines": [
            {
                "kind": priced.line.kind,
                "description": priced.line.description,
                "period": _period(priced.line.period),
                "excluded": priced.excluded,
                "amount": priced.line.amount,
                "discount": priced.discount,
                "total": priced.total,
                "segments": [
                    {
                        "period": _period(s.period),
                        "percent": s.percent,
                        "amount": s.amount,
                        "discount": s.discount,
                        "total": s.total,
                    }
                    for s in priced.segments
                ],
            }
            for priced in result.lines
        ],
        "totals": {"amount": result.amount, "discount": result.discount, "total": result.total},
    }


def event(row: Event, zone: tzinfo) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "client_id": row.client_id,
        "occurred_at": iso_moment(row.occurred_at, zone),
        "data": row.data,
    }


def feed(page: FeedPage, zone: tzinfo) -> dict[str, Any]:
    return {
        "events": [event(e, zone) for e in page.events],
        "next_after": page.next_after,
        "has_more": page.has_more,
    }
