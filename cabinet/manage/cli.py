"""`flask managers ...`: accounts for the operator's product managers and support staff."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from cabinet.auth.services import create_manager
from cabinet.cli_types import refuse
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal

managers_cli = AppGroup("managers", help="Менеджеры программы (/manage).")


@managers_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True, help="Не короче 8 символов.")
@click.option("--name", default="", help="Как показывать в журнале действий.")
@click.option(
    "--edits-terms", is_flag=True, help="Право изменять условия программы («Условия программы»)."
)
@click.option(
    "--opens-client-cabinets",
    is_flag=True,
    help="Право «Открыть как клиент»: видеть кабинет клиента (действовать — только в демо).",
)
def create(
    email: str, password: str, name: str, edits_terms: bool, opens_client_cabinets: bool
) -> None:
    """Create a manager account."""
    try:
        manager = create_manager(
            email,
            password,
            name,
            current_context().clock.now(),
            edits_program_terms=edits_terms,
            opens_client_cabinets=opens_client_cabinets,
        )
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    else:
        click.echo(f"Менеджер {manager.email} создан: вход на /manage/login.")
