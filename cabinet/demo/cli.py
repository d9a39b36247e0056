"""`flask demo seed [--reset]`."""

from __future__ import annotations

from collections.abc import Callable

import click
from flask import current_app
from flask.cli import AppGroup

from cabinet.cli_types import refuse
from cabinet.clock import current_context
from cabinet.demo.seed import DEMO_PASSWORD, reset, seed

demo_cli = AppGroup("demo", help="Демонстрационные данные.")


@demo_cli.command("seed")
@click.option(
    "--reset",
    "reset_first",
    is_flag=True,
    help="Сначала удалить демо-клиентов, сценарии и сдвиг машины времени.",
)
def seed_command(reset_first: bool) -> None:
    """Create the help page's demo clients (once); with --reset, afresh."""
    context = current_context()
    report: Callable[[str], None] = lambda line: click.echo(f"  демо: {line}")  # noqa: E731
    if reset_first:
        if current_app.config["CABINET_ENV"] == "production":
            refuse("Сброс демо-данных в production запрещен.")
        reset(context, report)
        click.echo(f"Демо сброшено. Пароль всех демо-клиентов: {DEMO_PASSWORD}")
    elif seed(context, report):
        click.echo(f"Демонстрационные данные созданы. Пароль всех демо-клиентов: {DEMO_PASSWORD}")
    else:
        click.echo("Демонстрационные данные уже есть.")
