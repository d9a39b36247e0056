"""`flask demo seed [--reset]`: the help page's clients, so a newcomer sees a living program.

The referrals happen «вчера» at the help page's times (10:03, 10:30, 15:18), so the discounts are
in force today; client 409 registered three days ago and may still apply a code. Every demo
client has a company domain and a phone of its own, so no fraud signal fires on the seed.

The demo scenarios (cabinet/demo/runs.py) add clients of their own; `DemoRun` remembers
which, so `reset` removes exactly the demo's clients and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import delete, exists, or_, select, update

from cabinet.audit import services as audit
from cabinet.audit.models import AuditEntry
from cabinet.auth.models import Manager
from cabinet.auth.services import create_manager
from cabinet.clients.models import Client
from cabinet.clients.services import NewClient, create_client
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.demo.clock import DemoClock, DemoClockSetting, NotInDemoMode
from cabinet.demo.models import DemoRun
from cabinet.invitations.models import Invitation
from cabinet.program import services as terms_services
from cabinet.referrals import services
from cabinet.referrals.models import Grant, Member, ProgramTerms, Referral, SmsPack

DEMO_PASSWORD = "demo12345"  # noqa: S105 - published (docs/demo.md), demo data only
REFERRER_ID = 400
FIRST_VERSION = 1  # the help page's terms, made by the migration: never taken back


@dataclass(frozen=True)
class DemoClient:
    id: int
    name: str
    email: str
    phone: str
    registered_days_ago: int
    promo_days: int | None = None
    applies_at: time | None = None  # applies the referrer's code yesterday at this Moscow time


DEMO_CLIENTS = (
    DemoClient(REFERRER_ID, "АльфаТелеком", "info@alfatelecom.ru", "+7 495 120-40-00", 120),
    DemoClient(
        408, "ТехКомплект", "office@tehkomplekt.ru", "+7 812 334-08-08", 11, applies_at=time(10, 3)
    ),
    DemoClient(
        401,
        "СтройКомплект",
        "zakaz@stroykomplekt.ru",
        "+7 343 226-14-01",
        11,
        applies_at=time(10, 30),
    ),
    # Its promo period is still running: its 20% «начнет действовать» later.
    DemoClient(
        407,
        "ТехСтрой",
        "info@tehstroy-group.ru",
        "+7 495 781-07-07",
        11,
        promo_days=20,
        applies_at=time(15, 18),
    ),
    # New clients who may still apply a code: with them the ladder climbs to 100% by clicking.
    DemoClient(409, "НовыйОфис", "hello@novyofis.ru", "+7 383 209-40-90", 3, promo_days=14),
    DemoClient(410, "СвязьПлюс", "info@svyazplus.ru", "+7 846 277-41-00", 2),
    DemoClient(411, "ОфисЛайн", "sales@ofisline.ru", "+7 861 244-11-11", 1),
)


DEMO_MANAGER_EMAIL = "manager@example.ru"


def seed(context: Context, report: Callable[[str], None] = lambda _line: None) -> bool:
    """Create the demo clients, referrals and manager, reporting each step; False when the
    clients were already there."""
    _ensure_manager(context, report)
    if db.session.get(Client, REFERRER_ID) is not None:
        return False
    zone = context.timezone
    now = context.clock.now()
    yesterday = (now.astimezone(zone) - timedelta(days=1)).date()
    for demo in DEMO_CLIENTS:
        registered = now - timedelta(days=demo.registered_days_ago)
        promo = None if demo.promo_days is None else registered + timedelta(days=demo.promo_days)
        create_client(
            NewClient(demo.id, demo.name, registered, promo, demo.email, demo.phone, DEMO_PASSWORD)
        )
        report(f"клиент {demo.id} «{demo.name}», вход: {demo.email}")
    referrer = services.join(context.at(now - timedelta(days=30)), REFERRER_ID)
    for demo in DEMO_CLIENTS:
        if demo.applies_at is not None:
            moment = datetime.combine(yesterday, demo.applies_at, zone).astimezone(UTC)
            services.join(context.at(moment), demo.id, referrer.code)
            report(f"клиент {demo.id} применил код {referrer.code}")
    return True


def _ensure_manager(context: Context, report: Callable[[str], None]) -> None:
    """The demo manager, with the right to open clients' cabinets («Открыть как клиент»)."""
    if db.session.scalar(select(Manager.id).where(Manager.email == DEMO_MANAGER_EMAIL)) is None:
        create_manager(
            DEMO_MANAGER_EMAIL,
            DEMO_PASSWORD,
            "Демо-менеджер",
            context.clock.now(),
            edits_program_terms=True,
            opens_client_cabinets=True,
        )
        report(f"менеджер {DEMO_MANAGER_EMAIL} (панель /manage)")
        return
    with transaction():  # a demo manager from before the right existed gets it
        db.session.execute(
            update(Manager)
            .where(Manager.email == DEMO_MANAGER_EMAIL, Manager.opens_client_cabinets.is_(False))
            .values(opens_client_cabinets=True)
        )


def demo_client_ids() -> set[int]:
    """The seed's clients and every client a scenario made."""
    ids = {demo.id for demo in DEMO_CLIENTS}
    for clients in db.session.scalars(select(DemoRun.clients)):
        ids.update(int(client_id) for client_id in (clients or {}).values())
    return ids


@dataclass(frozen=True)
class Cleared:
    """What a reset took away, and the versions of the terms it had to keep."""

    clients: set[int]
    versions_removed: tuple[int, ...]
    versions_kept: tuple[int, ...]  # withdrawn, not removed: clients outside the demo hold them


def clear(now: datetime) -> Cleared:
    """Remove the demo's clients with everything they have (referrals, grants, packs,
    invitations, their audit entries), the scenarios' runs, every version of the terms but
    version 1 (the help page's), and the time machine's moves, and put the clock back to the
    real time; one transaction. Other clients are not touched. The events feed keeps its
    history: it is append-only for its consumers."""
    with transaction():
        ids = demo_client_ids()
        referral_ids = select(Referral.id).where(
            or_(Referral.referrer_id.in_(ids), Referral.referee_id.in_(ids))
        )
        db.session.execute(delete(AuditEntry).where(_demo_audit(ids)))
        db.session.execute(delete(Invitation).where(Invitation.member_id.in_(ids)))
        db.session.execute(
            delete(SmsPack).where(
                or_(SmsPack.client_id.in_(ids), SmsPack.referral_id.in_(referral_ids))
            )
        )
        db.session.execute(
            delete(Grant).where(or_(Grant.client_id.in_(ids), Grant.referral_id.in_(referral_ids)))
        )
        db.session.execute(
            delete(Referral).where(or_(Referral.referrer_id.in_(ids), Referral.referee_id.in_(ids)))
        )
        db.session.execute(delete(Member).where(Member.client_id.in_(ids)))
        db.session.execute(delete(Client).where(Client.id.in_(ids)))
        db.session.execute(delete(DemoRun))
        removed, kept = _take_back_versions(now)
        db.session.execute(update(DemoClockSetting).values(offset_seconds=0.0))
    db.session.expire_all()
    return Cleared(ids, removed, kept)


def _take_back_versions(now: datetime) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Every version of the terms but version 1 goes, drafts too, with its entries in the log
    (a demo database's versions are the demo's: the scenarios' and those published by hand).
    One that a client outside the demo got a discount or a pack under stays, withdrawn, since
    its grants name it. Returns (removed, kept)."""
    named = or_(
        exists().where(Grant.terms_version == ProgramTerms.id),
        exists().where(SmsPack.terms_version == ProgramTerms.id),
    )
    later = ProgramTerms.id != FIRST_VERSION
    kept = tuple(sorted(db.session.scalars(select(ProgramTerms.id).where(later, named))))
    removed = tuple(
        sorted(
            db.session.scalars(select(ProgramTerms.id).where(later, ProgramTerms.id.not_in(kept)))
        )
    )
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.action.in_(terms_services.ACTIONS))
    ).all()
    for entry in entries:
        if (entry.details or {}).get("version") in removed:
            db.session.delete(entry)
    db.session.execute(delete(ProgramTerms).where(ProgramTerms.id.in_(removed)))
    db.session.execute(
        update(ProgramTerms)
        .where(ProgramTerms.id.in_(kept), ProgramTerms.status != "withdrawn")
        .values(status="withdrawn", withdrawn_at=now)
    )
    return removed, kept


def _demo_audit(ids: Iterable[int]) -> Any:
    return or_(
        AuditEntry.client_id.in_(list(ids)),
        AuditEntry.action.in_(("time_machine", "scenario_start", "scenario_step", "demo_reset")),
    )


def reset(context: Context, report: Callable[[str], None] = lambda _line: None) -> Cleared:
    """The demo back to its starting state (docs/demo.md): the demo's data, the terms and the
    clock."""
    cleared = clear(context.clock.now())
    if isinstance(context.clock, DemoClock):
        context.clock.forget()
    report(f"удалены демо-клиенты ({len(cleared.clients)}), сценарии и сдвиги машины времени")
    report(kept_sentence(cleared) or "условия программы — только версия 1 (из справки)")
    seed(context, report)
    return cleared


def kept_sentence(cleared: Cleared) -> str:
    """What the reset kept of the terms, in a sentence; empty when it kept nothing."""
    kept = cleared.versions_kept
    if not kept:
        return ""
    listed = ", ".join(str(v) for v in kept)
    if len(kept) == 1:
        return (
            f"Версия условий {listed} оставлена отозванной: по ней получили скидку клиенты "
            "вне демо."
        )
    return (
        f"Версии условий {listed} оставлены отозванными: по ним получили скидку клиенты вне демо."
    )


def reset_demo(context: Context, manager_id: int) -> Cleared:
    """«Сбросить демо»: the demo's data, terms and clock as `make run` leaves them; the reset
    itself is the first entry of the new log."""
    if not isinstance(context.clock, DemoClock):
        raise NotInDemoMode()
    cleared = reset(context)
    with transaction():
        audit.record(context.clock.now(), manager_id, "demo_reset")
    return cleared
