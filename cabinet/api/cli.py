"""`flask api-tokens ...`: tokens for the operator's systems (billing, PBX provisioning)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from cabinet.api import tokens
from cabinet.cli_types import refuse
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal
from cabinet.moments import iso_moment

api_tokens_cli = AppGroup("api-tokens", help="Токены доступа к API /api/v1.")


@api_tokens_cli.command("create")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    type=click.Choice(tokens.SCOPES),
    multiple=True,
    help="Право токена (можно несколько раз): read — условия, клиент, события; billing — "
    "скидка и предпросмотр счета; provisioning — создание, изменение и закрытие клиентов.",
)
def create(name: str, scopes: tuple[str, ...]) -> None:
    """Issue a token for the system NAME with its scopes; it is printed once, on stdout."""
    if not scopes:
        refuse(tokens.ScopesMissing.message)
    try:
        issued = tokens.issue(current_context(), name, scopes)
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    else:
        click.echo(
            f"Токен «{issued.name}» выпущен, права: {', '.join(issued.scopes)}. Он показывается "
            "один раз: сохраните его сейчас, в кабинете хранится только его хеш.",
            err=True,
        )
        click.echo(issued.token)


@api_tokens_cli.command("list")
def list_tokens() -> None:
    """Every token's name, when it was issued, its scopes and whether it still works (never the
    secret); a warning for each active token from before scopes, which can do everything."""
    zone = current_context().timezone
    rows = tokens.listing()
    if not rows:
        click.echo("Токенов нет.")
    for token in rows:
        state = (
            "действует"
            if token.revoked_at is None
            else f"отозван {iso_moment(token.revoked_at, zone)}"
        )
        scopes = ", ".join(tokens.scopes_of(token.scopes))
        click.echo(
            f"{token.name}\tвыпущен {iso_moment(token.created_at, zone)}\t{state}\tправа: {scopes}"
        )
    for token in rows:
        if token.active and token.legacy_scopes:
            click.echo(
                f"ВНИМАНИЕ: токен «{token.name}» выпущен до разделения прав и может все, "
                "включая закрытие клиентов и смену их e-mail. Выпустите токены с нужными "
                "правами (flask api-tokens create ИМЯ --scope …) и отзовите этот.",
                err=True,
            )


@api_tokens_cli.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke the token NAME: requests with it get 401 from now on."""
    try:
        _token, was_active = tokens.revoke(current_context(), name)
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    else:
        click.echo(f"Токен «{name}» отозван." if was_active else f"Токен «{name}» уже был отозван.")
