"""A code applied on a client's behalf (the panel's support action, the demo's steps): the same
rules and checks as the client's own, with the manager's reason in the audit log."""

from __future__ import annotations

from cabinet.audit import services as audit
from cabinet.clock import Context
from cabinet.errors import ProgramRefusal
from cabinet.referrals import services as referral_services


class ReasonRequired(ProgramRefusal):
    message = "Укажите причину: она попадет в журнал действий."


def apply_code_for_client(
    context: Context, manager_id: int, client_id: int, code: str, reason: str
) -> referral_services.JoinResult:
    """Apply a code on the client's behalf: the same rules and checks as the client's own."""
    if not reason.strip():
        raise ReasonRequired()
    return referral_services.join(
        context,
        client_id,
        code,
        before_commit=lambda result: audit.record(
            context.clock.now(),
            manager_id,
            "apply_code",
            client_id=client_id,
            reason=reason.strip(),
            details={"referrer_id": result.referrer_id, "code": code},
        ),
    )
