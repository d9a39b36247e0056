"""The time machine and support actions; each commits once, with its audit entry."""

from __future__ import annotations

from datetime import date, datetime

from cabinet import demo
from cabinet.audit import services as audit
from cabinet.auth.errors import CabinetNotAllowed
from cabinet.auth.models import Manager
from cabinet.auth.roles import may_act_for_clients, may_open_cabinets
from cabinet.clients.errors import ClientNotFound
from cabinet.clients.models import Client
from cabinet.clock import Program
from cabinet.db import db, transaction
from cabinet.demo_clock import DemoClock
from cabinet.errors import ProgramRefusal
from cabinet.invitations import services as invitation_services
from cabinet.manage import time_machine
from cabinet.referrals import services as referral_services


class NotInDemoMode(ProgramRefusal):
    message = "Машина времени и сценарии работают только в демо-режиме (DEMO_MODE=1)."


class ReasonRequired(ProgramRefusal):
    message = "Укажите причину: она попадет в журнал действий."


def move_clock(
    program: Program, manager_id: int, jump: time_machine.Jump, day: date | None = None
) -> datetime:
    """Move the demo clock; returns the time the cabinet now shows."""
    clock = program.clock
    if not isinstance(clock, DemoClock):
        raise NotInDemoMode()
    shown, real = clock.now(), clock.real.now()
    landing = time_machine.target(jump, shown, real, program.timezone, day)
    with transaction():
        clock.store_offset(landing - real)
        audit.record(
            shown,
            manager_id,
            "time_machine",
            details={"jump": jump, "from": shown.isoformat(), "to": landing.isoformat()},
        )
    clock.forget()
    return clock.now()


def apply_code_for_client(
    program: Program, manager_id: int, client_id: int, code: str, reason: str
) -> referral_services.JoinResult:
    """Apply a code on the client's behalf: the same rules and checks as the client's own."""
    if not reason.strip():
        raise ReasonRequired()
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


def requeue_invitations(program: Program, manager_id: int) -> int:
    """«Отправить снова»: every undelivered invitation back in the queue, with an audit entry."""
    now = program.clock.now()

    def audited(ids: list[int]) -> None:
        audit.record(now, manager_id, "requeue_invitations", details={"invitations": len(ids)})

    return len(invitation_services.requeue_failed(program, before_commit=audited))


def open_cabinet(program: Program, manager: Manager, client_id: int) -> Client:
    """«Открыть как клиент»: allowed to managers with the right; the audit log keeps who looked."""
    if not may_open_cabinets(manager):
        raise CabinetNotAllowed()
    with transaction():
        client = db.session.get(Client, client_id)
        if client is None:
            raise ClientNotFound(client_id)
        audit.record(
            program.clock.now(),
            manager.id,
            "open_cabinet",
            client_id=client_id,
            details={"may_act": may_act_for_clients(manager)},
        )
    return client


def reset_demo(program: Program, manager_id: int) -> None:
    """«Сбросить демо»: the demo's data and clock as `make run` leaves them; the reset itself
    is the first entry of the new log."""
    if not isinstance(program.clock, DemoClock):
        raise NotInDemoMode()
    demo.reset(program)
    with transaction():
        audit.record(program.clock.now(), manager_id, "demo_reset")
