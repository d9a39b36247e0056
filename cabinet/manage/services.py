"""The time machine and support actions; each commits once, with its audit entry."""

from __future__ import annotations

from datetime import date, datetime

from cabinet.audit import services as audit
from cabinet.clock import Program
from cabinet.db import transaction
from cabinet.demo_clock import DemoClock
from cabinet.errors import ProgramRefusal
from cabinet.invitations import services as invitation_services
from cabinet.manage import time_machine
from cabinet.referrals import services as referral_services


class NotInDemoMode(ProgramRefusal):
    message = "Машина времени работает только в демо-режиме (DEMO_MODE=1)."


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
