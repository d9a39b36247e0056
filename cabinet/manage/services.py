"""Support actions; each commits once, with its audit entry. (A code applied on a client's
behalf: cabinet/referrals/on_behalf.py; the time machine and the demo: cabinet/demo/.)"""

from __future__ import annotations

from cabinet.audit import services as audit
from cabinet.auth.errors import CabinetNotAllowed
from cabinet.auth.models import Manager
from cabinet.auth.roles import may_act_for_clients, may_open_cabinets
from cabinet.clients.errors import ClientNotFound
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.invitations import services as invitation_services


def requeue_invitations(context: Context, manager_id: int) -> int:
    """«Отправить снова»: every undelivered invitation back in the queue, with an audit entry."""
    now = context.clock.now()

    def audited(ids: list[int]) -> None:
        audit.record(now, manager_id, "requeue_invitations", details={"invitations": len(ids)})

    return len(invitation_services.requeue_failed(context, before_commit=audited))


def open_cabinet(context: Context, manager: Manager, client_id: int) -> Client:
    """«Открыть как клиент»: allowed to managers with the right; the audit log keeps who looked."""
    if not may_open_cabinets(manager):
        raise CabinetNotAllowed()
    with transaction():
        client = db.session.get(Client, client_id)
        if client is None:
            raise ClientNotFound(client_id)
        audit.record(
            context.clock.now(),
            manager.id,
            "open_cabinet",
            client_id=client_id,
            details={"may_act": may_act_for_clients(manager)},
        )
    return client
