"""`flask invitations ...`: the delivery worker and the stop list."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
import requests
from flask import current_app
from flask.cli import AppGroup

from cabinet.cli_types import refuse
from cabinet.clock import Context, current_context
from cabinet.invitations import errors, rules, services
from cabinet.invitations.delivery import Worker, http_gateways
from cabinet.invitations.settings import InvitationSettings

invitations_cli = AppGroup("invitations", help="Приглашения по email и SMS.")


@invitations_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Работать, пока не остановят (Ctrl+C, SIGTERM).")
@click.option("--batch", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option(
    "--idle",
    type=click.FloatRange(0.05, 60),
    default=1.0,
    show_default=True,
    help="Пауза, когда отправлять нечего, секунд.",
)
def deliver(loop: bool, batch: int, idle: float) -> None:
    """Send queued invitations through the gateways (one pass, or --loop)."""
    settings: InvitationSettings = current_app.extensions["invitations"]
    context: Context = current_context()
    with requests.Session() as session:
        gateways = http_gateways(settings, session)
        if not gateways:
            refuse(
                "Не задан ни SMS_GATEWAY_URL, ни EMAIL_GATEWAY_URL, ни SMTP_URL: отправлять некуда."
            )
        worker = Worker(context, settings, gateways)
        if not loop:
            click.echo(f"Приглашения: {worker.run_pass(batch)}")
            return
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(f"Отправка приглашений: каналы {', '.join(sorted(gateways))}; Ctrl+C — стоп.")
        worker.run_until(stop, idle, batch, on_pass=lambda r: click.echo(f"Приглашения: {r}"))
        click.echo("Отправка приглашений остановлена.")


@invitations_cli.command("requeue")
@click.option("--id", "ids", type=click.IntRange(1, 2_147_483_647), multiple=True)
@click.option("--all", "everything", is_flag=True, help="Все «не доставлено».")
def requeue(ids: tuple[int, ...], everything: bool) -> None:
    """Put undelivered invitations back in the queue (after a gateway outage)."""
    if not ids and not everything:
        refuse("Укажите --id N (можно несколько раз) или --all.")
    done = services.requeue_failed(
        current_app.extensions["context"], None if everything else list(ids)
    )
    click.echo(f"Снова в очереди: {len(done)}.")


@invitations_cli.command("purge")
def purge() -> None:
    """Replace invitees' contacts past INVITEE_RETENTION_DAYS by their keyed hash."""
    settings: InvitationSettings = current_app.extensions["invitations"]
    context: Context = current_context()
    total = services.Purged(0, 0)
    while True:  # in batches, each its own transaction
        done = services.purge_contacts(context, settings)
        total = services.Purged(
            total.invitations + done.invitations, total.stop_list + done.stop_list
        )
        if not (done.invitations or done.stop_list):
            break
    click.echo(f"Приглашения: {total} (срок хранения {settings.retention_days} дн.).")


@invitations_cli.group("stop-list")
def stop_list() -> None:
    """Recipients who asked not to receive invitations."""


def _recipient(raw: str) -> str:
    settings: InvitationSettings = current_app.extensions["invitations"]
    channel: rules.Channel = "email" if "@" in raw else "sms"
    try:
        return rules.normalise_recipient(channel, raw, settings.limits)
    except errors.InvitationRefusal as refusal:
        raise click.BadParameter(refusal.message) from refusal


@stop_list.command("add")
@click.argument("recipient")
def stop_list_add(recipient: str) -> None:
    """Add a phone number or an e-mail address."""
    normalised = _recipient(recipient)
    key = current_app.extensions["invitations"].contact_hash_key
    added = services.opt_out(current_context(), normalised, "support", key)
    click.echo(f"{normalised}: {'добавлен в стоп-лист' if added else 'уже в стоп-листе'}.")


@stop_list.command("remove")
@click.argument("recipient")
def stop_list_remove(recipient: str) -> None:
    """Remove a phone number or an e-mail address (at the recipient's request)."""
    normalised = _recipient(recipient)
    removed = services.opt_in(normalised, current_app.extensions["invitations"].contact_hash_key)
    click.echo(f"{normalised}: {'удален из стоп-листа' if removed else 'не было в стоп-листе'}.")
