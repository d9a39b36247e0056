"""`flask demo seed`: the help page's clients, so a newcomer sees a living program.

The referrals happen «вчера» at the help page's times (10:03, 10:30, 15:18), so the discounts are
in force today; client 409 registered three days ago and may still apply a code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from cabinet.auth.models import Manager
from cabinet.auth.services import create_manager
from cabinet.clients.models import Client
from cabinet.clients.services import NewClient, create_client
from cabinet.clock import Program, current_program
from cabinet.db import db
from cabinet.referrals import services

demo_cli = AppGroup("demo", help="Демонстрационные данные.")

DEMO_PASSWORD = "demo12345"  # noqa: S105 - published in the README, demo data only
REFERRER_ID = 400


@dataclass(frozen=True)
class DemoClient:
    id: int
    name: str
    email: str
    registered_days_ago: int
    promo_days: int | None = None
    applies_at: time | None = None  # applies the referrer's code yesterday at this Moscow time


DEMO_CLIENTS = (
    DemoClient(REFERRER_ID, "АльфаТелеком", "alfa@example.ru", 120),
    DemoClient(408, "ТехКомплект", "tehkomplekt@example.ru", 11, applies_at=time(10, 3)),
    DemoClient(401, "СтройКомплект", "stroykomplekt@example.ru", 11, applies_at=time(10, 30)),
    # Its promo period is still running: its 20% «начнет действовать» later.
    DemoClient(407, "ТехСтрой", "tehstroy@example.ru", 11, promo_days=20, applies_at=time(15, 18)),
    # New clients who may still apply a code: with them the ladder climbs to 100% by clicking.
    DemoClient(409, "НовыйОфис", "novyofis@example.ru", 3, promo_days=14),
    DemoClient(410, "СвязьПлюс", "svyazplus@example.ru", 2),
    DemoClient(411, "ОфисЛайн", "ofisline@example.ru", 1),
)


DEMO_MANAGER_EMAIL = "manager@example.ru"


def seed(program: Program, report: Callable[[str], None] = lambda _line: None) -> bool:
    """Create the demo clients, referrals and manager, reporting each step; False when the
    clients were already there."""
    if db.session.scalar(select(Manager.id).where(Manager.email == DEMO_MANAGER_EMAIL)) is None:
        create_manager(
            DEMO_MANAGER_EMAIL,
            DEMO_PASSWORD,
            "Демо-менеджер",
            program.clock.now(),
            edits_program_terms=True,
        )
        report(f"менеджер {DEMO_MANAGER_EMAIL} (панель /manage)")
    if db.session.get(Client, REFERRER_ID) is not None:
        return False
    zone = program.timezone
    now = program.clock.now()
    yesterday = (now.astimezone(zone) - timedelta(days=1)).date()
    for demo in DEMO_CLIENTS:
        registered = now - timedelta(days=demo.registered_days_ago)
        promo = None if demo.promo_days is None else registered + timedelta(days=demo.promo_days)
        create_client(
            NewClient(demo.id, demo.name, registered, promo, demo.email, None, DEMO_PASSWORD)
        )
        report(f"клиент {demo.id} «{demo.name}», вход: {demo.email}")
    referrer = services.join(program.at(now - timedelta(days=30)), REFERRER_ID)
    for demo in DEMO_CLIENTS:
        if demo.applies_at is not None:
            moment = datetime.combine(yesterday, demo.applies_at, zone).astimezone(UTC)
            services.join(program.at(moment), demo.id, referrer.code)
            report(f"клиент {demo.id} применил код {referrer.code}")
    return True


@demo_cli.command("seed")
def seed_command() -> None:
    """Create the help page's demo clients (once)."""
    if seed(current_program(), lambda line: click.echo(f"  демо: {line}")):
        click.echo(f"Демонстрационные данные созданы. Пароль всех демо-клиентов: {DEMO_PASSWORD}")
    else:
        click.echo("Демонстрационные данные уже есть.")
