"""`flask clients ...`: support staff create clients."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup

from cabinet.cli_types import MOMENT, refuse
from cabinet.clients.models import CLIENT_STATUSES
from cabinet.clients.services import InvalidClient, NewClient, create_client, normalise_email
from cabinet.errors import ProgramRefusal

clients_cli = AppGroup("clients", help="Клиенты «Корпоративной АТС».")


def _email(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_email(value)
    except InvalidClient as exc:
        raise click.BadParameter(exc.message) from exc


@clients_cli.command("create")
@click.option("--id", "client_id", type=click.IntRange(min=1), required=True, help="ID клиента")
@click.option("--name", required=True, help="Название")
@click.option("--registered-at", type=MOMENT, required=True, help="Регистрация АТС")
@click.option("--promo-until", type=MOMENT, default=None, help="Окончание промо-периода")
@click.option("--email", default=None, callback=lambda _c, _p, v: _email(v))
@click.option("--phone", default=None)
@click.option("--password", default=None, help="Пароль для входа в кабинет")
@click.option("--status", type=click.Choice(CLIENT_STATUSES), default="active", show_default=True)
def create(
    client_id: int,
    name: str,
    registered_at: datetime,
    promo_until: datetime | None,
    email: str | None,
    phone: str | None,
    password: str | None,
    status: str,
) -> None:
    """Create a client."""
    try:
        client = create_client(
            NewClient(client_id, name, registered_at, promo_until, email, phone, password, status)
        )
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    else:
        click.echo(f"Клиент {client.id} «{client.name}» создан.")
