"""Manager accounts, the time machine and support actions; each commits once, with its audit."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from cabinet.clients.services import normalise_email
from cabinet.clock import Program
from cabinet.db import begin_write, db
from cabinet.manage import audit, time_machine
from cabinet.manage.models import DemoClockSetting, Manager
from cabinet.referrals import services as referral_services
from cabinet.referrals.errors import ProgramRefusal

_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


class ManagerRefused(ProgramRefusal):
    pass


class NotInDemoMode(ProgramRefusal):
    message = "Машина времени работает только в демо-режиме (DEMO_MODE=1)."


def create_manager(email: str, password: str, name: str, now: datetime) -> Manager:
    address = normalise_email(email)
    if len(password) < 8:
        raise ManagerRefused("Пароль — не короче 8 символов.")
    begin_write()
    try:
        if db.session.scalar(select(Manager.id).where(Manager.email == address)) is not None:
            raise ManagerRefused(f"Менеджер с адресом {address} уже есть.")
        manager = Manager(
            email=address,
            name=name.strip() or address,
            created_at=now,
            password_hash=generate_password_hash(password),
        )
        db.session.add(manager)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return manager


def authenticate_manager(email: str, password: str) -> Manager:
    manager = db.session.scalar(select(Manager).where(Manager.email == email.strip().lower()))
    if manager is None:
        check_password_hash(_DUMMY_HASH, password)
        raise ManagerRefused("Неверный email или пароль.")
    if not check_password_hash(manager.password_hash, password):
        raise ManagerRefused("Неверный email или пароль.")
    return manager


def load_manager(session_id: str) -> Manager | None:
    """`m<id>.<version>` from the session cookie."""
    manager_part, _, version = session_id[1:].partition(".")
    if not (manager_part.isdigit() and version.isdigit()):
        return None
    manager = db.session.get(Manager, int(manager_part))
    if manager is None or manager.session_version != int(version):
        return None
    return manager


def end_manager_sessions(manager_id: int) -> None:
    begin_write()
    manager = db.session.get(Manager, manager_id)
    if manager is not None:
        manager.session_version += 1
    db.session.commit()


def move_clock(
    program: Program, manager_id: int, jump: time_machine.Jump, day: date | None = None
) -> datetime:
    """Move the demo clock; returns the time the cabinet now shows."""
    clock = program.clock
    if not isinstance(clock, time_machine.DemoClock):
        raise NotInDemoMode()
    shown = clock.now()
    landing = time_machine.target(jump, shown, program.timezone, day)
    real = datetime.now(landing.tzinfo)
    offset = 0.0 if jump == "now" else (landing - real).total_seconds()
    begin_write()
    try:
        setting = db.session.get(DemoClockSetting, 1)
        if setting is None:
            db.session.add(DemoClockSetting(id=1, offset_seconds=offset))
        else:
            setting.offset_seconds = offset
        audit.record(
            shown,
            manager_id,
            "time_machine",
            details={"jump": jump, "from": shown.isoformat(), "to": landing.isoformat()},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    clock.forget()
    return clock.now()


def apply_code_for_client(
    program: Program, manager_id: int, client_id: int, code: str, reason: str
) -> referral_services.JoinResult:
    """Apply a code on the client's behalf: the same rules and checks as the client's own."""
    if not reason.strip():
        raise ManagerRefused("Укажите причину: она попадёт в журнал действий.")
    return referral_services.join(
        program,
        client_id,
        code,
        before_commit=lambda result: audit.record(
            program.clock.now(),
            manager_id,
            "apply_code",
            client_id=client_id,
            reason=reason.strip(),
            details={"referrer_id": result.referrer_id, "code": code},
        ),
    )
