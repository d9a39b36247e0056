"""Fraud signals from the database: the referrals read, the pure rules applied."""

from __future__ import annotations

from datetime import tzinfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import aliased

from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.fraud.rules import Activation, Contact, Signal, review
from cabinet.referrals.models import Referral


def signals_for(client_id: int, zone: tzinfo) -> list[Signal]:
    """Signals about a client, as a referrer or as a referee (two statements)."""
    referrer_of = db.session.scalar(
        select(Referral.referrer_id).where(
            Referral.referee_id == client_id, Referral.revoked_at.is_(None)
        )
    )
    referrers = [client_id] if referrer_of is None else [client_id, referrer_of]
    activations = _activations(Referral.referrer_id.in_(referrers))
    return [
        s
        for s in review(activations, zone)
        if s.referrer_id == client_id or client_id in s.referee_ids
    ]


def _activations(condition: ColumnElement[bool]) -> list[Activation]:
    referrer, referee = aliased(Client), aliased(Client)
    stmt = (
        select(Referral.id, Referral.activated_at, referrer, referee)
        .join(referrer, referrer.id == Referral.referrer_id)
        .join(referee, referee.id == Referral.referee_id)
        .where(Referral.revoked_at.is_(None), condition)
        .order_by(Referral.activated_at.desc(), Referral.id.desc())
    )
    return [
        Activation(referral_id, _contact(a), _contact(b), at)
        for referral_id, at, a, b in db.session.execute(stmt)
    ]


def _contact(client: Client) -> Contact:
    return Contact(client.id, client.name, client.email, client.phone)
