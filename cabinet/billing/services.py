"""Billing tells the cabinet: a client paid an invoice, a client's contract closed (the operator
API, docs/api.md). Load, call the rules, write, commit once.

Both may change what the client's referrer has earned (docs/rules.md, «Награда после первой
оплаты»): a referee's first payment after its promo period earns a reward that waited; a
closure within the terms' clawback days takes one back; a payment reported late (its `paid_at`
in the past) recomputes the ladder as of then. So both lock the client's row and its
referrer's (ID order, as an activation does), then settle the referrer
(cabinet/referrals/settlement.py).

Idempotent: the same payment id of a client again, or the same closure again, changes nothing
and answers as the first time; the same id or a closed contract with other data is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from cabinet import events
from cabinet.clients import errors as client_errors
from cabinet.clients.models import Client, Payment
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.moments import show_moment
from cabinet.referrals import settlement
from cabinet.referrals.models import Referral
from cabinet.referrals.services import lock_clients


@dataclass(frozen=True)
class PaymentResult:
    client_id: int
    payment_id: str
    paid_at: datetime
    amount_kopecks: int
    received_at: datetime
    replayed: bool  # reported before: nothing changed
    settled: settlement.Settled


@dataclass(frozen=True)
class ClosureResult:
    client_id: int
    closed_at: datetime
    replayed: bool
    settled: settlement.Settled


def roubles(kopecks: int) -> str:
    """«1 500,00 ₽»."""
    whole, part = divmod(kopecks, 100)
    return f"{whole:,}".replace(",", "\N{NO-BREAK SPACE}") + f",{part:02d}\N{NO-BREAK SPACE}₽"


def _lock(client_id: int) -> tuple[Client, int | None]:
    """Lock the client and the referrer whose code it applied (if any)."""
    referrer_id = db.session.scalar(
        select(Referral.referrer_id).where(Referral.referee_id == client_id)
    )
    locked = lock_clients([client_id] if referrer_id is None else [client_id, referrer_id])
    if client_id not in locked:
        raise client_errors.ClientNotFound(client_id)
    return locked[client_id], referrer_id


def record_payment(
    context: Context, client_id: int, payment_id: str, paid_at: datetime, amount_kopecks: int
) -> PaymentResult:
    """Record billing's payment; settle the client's referrer if it is a referee."""
    with transaction():
        client, referrer_id = _lock(client_id)
        zone = context.timezone
        known = db.session.scalars(
            select(Payment).where(Payment.client_id == client_id, Payment.payment_id == payment_id)
        ).first()
        if known is not None:
            if (known.paid_at, known.amount_kopecks) != (paid_at, amount_kopecks):
                raise client_errors.PaymentConflict(
                    payment_id, show_moment(known.paid_at, zone), roubles(known.amount_kopecks)
                )
            return PaymentResult(
                client_id,
                payment_id,
                known.paid_at,
                known.amount_kopecks,
                known.received_at,
                replayed=True,
                settled=settlement.Settled(),
            )
        now = context.clock.now()
        _check_moment("Момент оплаты", paid_at, client, now, context)
        payment = Payment(
            client_id=client_id,
            payment_id=payment_id,
            paid_at=paid_at,
            amount_kopecks=amount_kopecks,
            received_at=now,
        )
        db.session.add(payment)
        db.session.flush()
        events.record(
            context,
            "payment_received",
            client_id=client_id,
            at=now,
            data={
                "payment_id": payment_id,
                "paid_at": paid_at,
                "amount_kopecks": amount_kopecks,
                "received_at": now,
            },
        )
        settled = (
            settlement.Settled()
            if referrer_id is None
            else settlement.settle(context, referrer_id, now)
        )
    return PaymentResult(
        client_id, payment_id, paid_at, amount_kopecks, now, replayed=False, settled=settled
    )


def close_contract(context: Context, client_id: int, closed_at: datetime) -> ClosureResult:
    """Close the client's contract at `closed_at` (status «closed»); settle its referrer."""
    with transaction():
        client, referrer_id = _lock(client_id)
        zone = context.timezone
        if client.closed_at is not None:
            if client.closed_at != closed_at:
                raise client_errors.ClosureConflict(show_moment(client.closed_at, zone))
            return ClosureResult(client_id, client.closed_at, True, settlement.Settled())
        now = context.clock.now()
        _check_moment("Момент закрытия договора", closed_at, client, now, context)
        client.status = "closed"
        client.closed_at = closed_at
        db.session.flush()
        events.record(
            context, "client_closed", client_id=client_id, at=now, data={"closed_at": closed_at}
        )
        settled = (
            settlement.Settled()
            if referrer_id is None
            else settlement.settle(context, referrer_id, now)
        )
    return ClosureResult(client_id, closed_at, False, settled)


def _check_moment(
    what: str, moment: datetime, client: Client, now: datetime, context: Context
) -> None:
    zone = context.timezone
    if moment > now:
        raise client_errors.MomentInFuture(what, show_moment(now, zone))
    registered = client.registered_at
    if moment < registered:
        raise client_errors.MomentBeforeRegistration(what, show_moment(registered, zone))
