"""`flask webhooks ...`: subscribers, the delivery worker, replays."""

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
from cabinet.errors import ProgramRefusal
from cabinet.moments import show_moment
from cabinet.webhooks import queries, services
from cabinet.webhooks.delivery import Sender, Worker
from cabinet.webhooks.settings import WebhookSettings

webhooks_cli = AppGroup("webhooks", help="Вебхуки: события ленты, подписанные, по HTTP.")

ID = click.IntRange(1, 2_147_483_647)


def _settings() -> WebhookSettings:
    settings: WebhookSettings = current_app.extensions["webhooks"]
    return settings


@webhooks_cli.command("add")
@click.argument("url")
@click.option("--note", default="", help="Кто это и зачем (до 200 символов).")
def add(url: str, note: str) -> None:
    """Add a subscriber; its secret is printed once, now."""
    try:
        added = services.add_subscriber(
            current_context(), None, url, note, _settings().allow_http_loopback
        )
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    click.echo(f"Подписчик {added.id}: {added.url}")
    click.echo(f"Секрет (показан один раз, сохраните его у получателя): {added.secret}")
    click.echo(f"Получит события после № {added.after}; более ранние — flask webhooks replay.")


@webhooks_cli.command("list")
def list_() -> None:
    """The active subscribers and their deliveries."""
    lines = queries.subscribers()
    if not lines:
        click.echo("Подписчиков нет.")
        return
    zone = current_context().timezone
    for line in lines:
        note = f" — {line.note}" if line.note else ""
        click.echo(
            f"{line.id}\t{line.url}{note}\tс {show_moment(line.created_at, zone)}\t"
            f"доставлено: {line.delivered}, в очереди: {line.pending}, "
            f"не доставлено: {line.failed}"
        )


@webhooks_cli.command("remove")
@click.argument("subscriber_id", type=ID)
def remove(subscriber_id: int) -> None:
    """Stop sending to a subscriber (its log is kept)."""
    try:
        url = services.remove_subscriber(current_context(), None, subscriber_id)
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    click.echo(f"Подписчик {subscriber_id} ({url}) удален: события ему больше не отправляются.")


@webhooks_cli.command("replay")
@click.argument("subscriber_id", type=ID)
@click.option("--from", "from_event", type=ID, required=True, help="С какого события (его id).")
def replay(subscriber_id: int, from_event: int) -> None:
    """Send a subscriber every event from an id on again, under the same webhook-ids."""
    try:
        count = services.replay(current_context(), None, subscriber_id, from_event)
    except ProgramRefusal as refusal:
        refuse(refusal.message)
    click.echo(f"Подписчик {subscriber_id}: снова в очереди {count} событий с № {from_event}.")


@webhooks_cli.command("deliver")
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
    """Send the events to the subscribers (one pass, or --loop)."""
    context: Context = current_context()
    settings = _settings()
    with requests.Session() as session:
        worker = Worker(context, settings, Sender(session, settings))
        if not loop:
            click.echo(f"Вебхуки: {worker.run_pass(batch)}")
            return
        stop = threading.Event()

        def _stop(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo("Отправка вебхуков; Ctrl+C — стоп.")
        worker.run_until(stop, idle, batch, on_pass=lambda r: click.echo(f"Вебхуки: {r}"))
        click.echo("Отправка вебхуков остановлена.")
