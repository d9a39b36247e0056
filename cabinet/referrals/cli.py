"""`flask referral ...`: the operator's view of the program (support and acceptance checks)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from flask.cli import AppGroup

from cabinet.cli_types import MOMENT, refuse
from cabinet.clock import Context, current_context
from cabinet.errors import ProgramRefusal
from cabinet.moments import iso_moment
from cabinet.referrals import queries, services

referral_cli = AppGroup("referral", help="Реферальная программа.")


def _program(at: datetime | None) -> Context:
    return current_context().at(at)


@referral_cli.command("join")
@click.option("--client", "client_id", type=click.IntRange(min=1), required=True)
@click.option("--code", default=None, help="Код приглашения друга")
@click.option("--at", type=MOMENT, default=None, help="Момент (ISO 8601); по умолчанию сейчас")
def join(client_id: int, code: str | None, at: datetime | None) -> None:
    """Join the program; with --code, apply a friend's code."""
    try:
        result = services.join(_program(at), client_id, code)
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    else:
        if result.referrer_id is None:
            click.echo(
                f"Клиент {client_id} вступил в программу. Код для приглашения: {result.code}"
            )
        else:
            click.echo(
                f"Код клиента {result.referrer_id} применен. "
                f"Клиент {client_id} участвует в программе, код для приглашения: {result.code}"
            )


@referral_cli.command("code")
@click.option("--client", "client_id", type=click.IntRange(min=1), required=True)
@click.option("--copy", is_flag=True, help="Скопировать код в буфер обмена.")
def code(client_id: int, copy: bool) -> None:
    """Print the client's personal code (and, with --copy, put it on the clipboard)."""
    context = _program(None)
    try:
        standing = queries.standing(client_id, context.clock.now())
    except ProgramRefusal as refusal:
        refuse(refusal.message)
        return
    if standing.code is None:
        refuse(f"Клиент {client_id} не участвует в программе: кода для приглашения нет.")
        return
    click.echo(standing.code)
    if copy:
        import pyperclip

        try:
            pyperclip.copy(standing.code)
        except pyperclip.PyperclipException:
            click.echo(
                "Буфер обмена недоступен (нет графической среды): скопируйте код выше вручную.",
                err=True,
            )
        else:
            click.echo("Код скопирован в буфер обмена.", err=True)


@referral_cli.command("show")
@click.option("--client", "client_id", type=click.IntRange(min=1), required=True)
@click.option("--at", type=MOMENT, default=None, help="Момент (ISO 8601); по умолчанию сейчас")
def show(client_id: int, at: datetime | None) -> None:
    """Print the client's standing in the program as one JSON object."""
    context = _program(at)
    try:
        click.echo(json.dumps(show_document(context, client_id), ensure_ascii=False))
    except ProgramRefusal as refusal:
        refuse(refusal.message)


def show_document(context: Context, client_id: int) -> dict[str, Any]:
    zone = context.timezone
    now = context.clock.now()
    standing = queries.standing(client_id, now)
    return {
        "client": {"id": standing.client_id, "name": standing.client_name},
        "member": standing.member,
        "code": standing.code,
        "discount_percent": standing.discount_percent,
        "referred": [
            {"id": r.id, "name": r.name, "activated_at": iso_moment(r.activated_at, zone)}
            for r in queries.referred_clients(client_id)
        ],
        "history": [
            {
                "percent": g.percent,
                "starts_at": iso_moment(g.starts_at, zone),
                "ends_at": iso_moment(g.ends_at, zone),
                "reason": g.reason,
            }
            for g in queries.history(client_id)
            if not g.voided
        ],
        "sms_packs": [
            {"size": p.size, "granted_at": iso_moment(p.granted_at, zone)}
            for p in queries.sms_packs(client_id)
        ],
    }
