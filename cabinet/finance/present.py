"""The report's lines as people read them: the panel, the CSV and the CLI show the same words."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from cabinet.finance.queries import Built
from cabinet.finance.rules import VersionLine
from cabinet.texts import number, roubles

# The columns, in order: (key, heading). One source for the page, the CSV and the CLI.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("version", "Версия условий"),
    ("grants", "Скидок в силе"),
    ("roubles", "Скидка, ₽ (клиенты с оплатой)"),
    ("discount_months", "Скидка, скидко-месяцев (клиенты без оплаты)"),
    ("earned", "Новых наград"),
    ("pending", "Ждут первой оплаты (на конец месяца)"),
    ("clawed_back", "Возвращено (договор закрыт)"),
    ("sms_packs", "Пакетов SMS выдано"),
)


@dataclass(frozen=True)
class Line:
    """One version (or «Итого»): each figure as a number and as the page shows it."""

    version: str
    grants: int
    discount_kopecks: int
    paid_clients: int
    discount_months: Fraction
    unpaid_clients: int
    earned: int
    pending: int
    clawed_back: int
    sms_packs: int
    sms_total: int
    total: bool = False

    @property
    def roubles_text(self) -> str:
        return roubles(self.discount_kopecks)

    @property
    def discount_months_text(self) -> str:
        return discount_months(self.discount_months)

    @property
    def sms_text(self) -> str:
        return f"{number(self.sms_packs)} ({number(self.sms_total)} SMS)"


def discount_months(value: Fraction) -> str:
    """Two decimals, ru-RU: «0,20»."""
    return number(round(float(value), 2), 2)


def version_name(built: Built, version: int) -> str:
    name = built.names.get(version)
    if name is None:
        return f"версия {version}"
    kind = "акция" if name.campaign else "условия"
    return f"{version} «{name.title}» ({kind})" if name.title else f"{version} ({kind})"


def _line(name: str, row: VersionLine, total: bool = False) -> Line:
    return Line(
        version=name,
        grants=row.grants_in_force,
        discount_kopecks=row.discount_kopecks,
        paid_clients=len(row.paid_clients),
        discount_months=row.discount_months_unpaid,
        unpaid_clients=len(row.unpaid_clients),
        earned=row.earned,
        pending=row.pending,
        clawed_back=row.clawed_back,
        sms_packs=row.sms_packs,
        sms_total=row.sms_total,
        total=total,
    )


def lines(built: Built) -> list[Line]:
    """One line per version met in the month, then «Итого» (even for an empty month)."""
    shown = [_line(version_name(built, row.version), row) for row in built.report.lines]
    return [*shown, _line("Итого", built.report.total, total=True)]
