"""`flask program liability --month 2026-11`: finance's monthly report in the terminal."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from cabinet.cli_types import refuse
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal
from cabinet.finance import present, queries
from cabinet.finance.rules import month_of, parse_month
from cabinet.texts import NBSP

program_cli = AppGroup("program", help="Реферальная программа: отчеты для финансов.")


@program_cli.command("liability")
@click.option("--month", default="", help="Месяц, ГГГГ-ММ (по умолчанию текущий).")
def liability(month: str) -> None:
    """Finance's monthly report: grants in force, discount owed, rewards, SMS packs."""
    context = current_context()
    try:
        chosen = parse_month(month) if month else month_of(context.clock.now(), context.timezone)
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    built = queries.build(chosen, context.timezone)
    click.echo(f"Отчет за {chosen.key} (московское время)")
    for line in present.lines(built):
        click.echo(
            (
                f"{line.version}: скидок в силе {line.grants}; "
                f"скидка {line.roubles_text} по {line.paid_clients} клиентам с оплатой, "
                f"{line.discount_months_text} скидко-месяца по {line.unpaid_clients} клиентам "
                f"без оплаты; новых наград {line.earned}, ждут первой оплаты {line.pending}, "
                f"возвращено {line.clawed_back}; пакетов SMS {line.sms_text}"
            ).replace(NBSP, " ")
        )
