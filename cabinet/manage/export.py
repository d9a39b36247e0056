"""The dashboard and finance's monthly report as CSV, for a spreadsheet."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from cabinet.dashboard.rules import Dashboard
from cabinet.finance.present import COLUMNS, Line, discount_months
from cabinet.texts import NBSP, number


def _value(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, float):
        return number(value, 1).replace(NBSP, "")
    return value


def dashboard_csv(board: Dashboard) -> str:
    out = io.StringIO()
    # As a Russian spreadsheet reads it: «;» between columns, a decimal comma (ru-RU, Babel).
    writer = csv.writer(out, delimiter=";")
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
    # «отправлено»: the gateway took it, as the «Приглашения» tab and the conversion say.
    rows += [(f"приглашений {c.channel}: всего", c.sent) for c in board.channels]
    rows += [(f"приглашений {c.channel}: отправлено", c.delivered) for c in board.channels]
    rows += [(f"приглашений {c.channel}: не доставлено", c.failed) for c in board.channels]
    for row in board.conversion:
        rows += [
            (f"конверсия, {row.label}: отправлено", row.sent),
            (f"конверсия, {row.label}: доставлено", row.delivered),
            (f"конверсия, {row.label}: применили код", row.applied),
            (f"конверсия, {row.label}: скидка начислена", row.granted),
        ]
    rows += [(f"рефералов за неделю с {w.starts:%d.%m.%Y}", w.referrals) for w in board.weeks]
    rows += [(f"топ: {t.id} {t.name}", t.referrals) for t in board.top]
    rows += [(f"пакетов по {size} SMS", n) for size, n in board.sms_packs]
    writer.writerows((name, _value(value)) for name, value in rows)
    return out.getvalue()


def liability_csv(month: str, lines: list[Line]) -> str:
    """Finance's monthly report, one row per version of the terms and «Итого»: the same
    columns as the page; roubles as a number with a decimal comma (the header says «₽»),
    discount-months with two decimals."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    writer.writerow(
        [
            "месяц",
            *(heading for _, heading in COLUMNS),
            "клиентов с оплатой",
            "клиентов без оплаты",
            "SMS в пакетах",
        ]
    )
    for line in lines:
        writer.writerow(
            [
                month,
                line.version,
                line.grants,
                number(Decimal(line.discount_kopecks) / 100, 2).replace(NBSP, ""),
                discount_months(line.discount_months).replace(NBSP, ""),
                line.earned,
                line.pending,
                line.clawed_back,
                line.sms_packs,
                line.paid_clients,
                line.unpaid_clients,
                line.sms_total,
            ]
        )
    return out.getvalue()
