"""Fraud signals read from a real database (cabinet/fraud/queries.py)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select, update

from cabinet.auth.services import create_manager
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.fraud import queries as fraud
from cabinet.referrals import queries, services
from cabinet.referrals.models import Referral
from cabinet.referrals.revocation import revoke_referral
from tests.conftest import MOSCOW, msk
from tests.factories import make_client, make_member


def _set_phone(client_id: int, phone: str) -> None:
    db.session.execute(update(Client).where(Client.id == client_id).values(phone=phone))
    db.session.commit()


def _setup(context: Context) -> str:
    """Referrer 1 (boss@techstroy.ru, +7 910 123-45-67); referees: 2 a colleague at 10:00,
    3 with the same phone at 10:20, 4 on mail.ru at 10:40 (a burst of three), 5 unrelated
    a day later; 6 referred by 5 with 5's mailbox."""
    code = make_member(context, 1, msk("2023-03-01 09:00"), email="boss@techstroy.ru")
    _set_phone(1, "+7 910 123-45-67")
    make_client(2, email="buh@techstroy.ru")
    make_client(3, email="sklad@gmail.com")
    _set_phone(3, "8 (910) 123-45-67")
    make_client(4, email="ivan@mail.ru")
    make_client(5, email="petr.ivanov@gmail.com")
    make_client(6, email="petrivanov+6@gmail.com")
    for client_id, at in [(2, "10:00"), (3, "10:20"), (4, "10:40")]:
        services.join(context.at(msk(f"2023-03-31 {at}")), client_id, code)
    services.join(context.at(msk("2023-04-01 12:00")), 5, code)
    return code


def test_signals_for_a_referrer_and_for_its_referees(ctx: Flask, context: Context) -> None:
    _setup(context)
    code_5 = queries.standing(5, msk("2023-04-01 12:00")).code
    assert code_5 is not None
    services.join(context.at(msk("2023-04-02 12:00")), 6, code_5)

    about_1 = fraud.signals_for(1, MOSCOW)
    assert sorted((s.kind, s.referee_ids) for s in about_1) == [
        ("burst", (2, 3, 4)),
        ("shared_domain", (2,)),
        ("shared_phone", (3,)),
    ]
    assert all(s.text for s in about_1)
    assert [s.kind for s in fraud.signals_for(2, MOSCOW)] == ["burst", "shared_domain"]
    assert [s.kind for s in fraud.signals_for(4, MOSCOW)] == ["burst"]
    # 5 is a referee of 1 (nothing in common) and the referrer of 6 (the same mailbox)
    assert [(s.kind, s.referrer_id) for s in fraud.signals_for(5, MOSCOW)] == [("same_mailbox", 5)]
    assert [s.kind for s in fraud.signals_for(6, MOSCOW)] == ["same_mailbox"]
    assert fraud.signals_for(999, MOSCOW) == []


def test_revoked_referrals_are_left_out(ctx: Flask, context: Context) -> None:
    _setup(context)
    manager = create_manager("support@example.ru", "password-123", "Поддержка", msk("2023-03-01"))
    referral = db.session.scalar(select(Referral.id).where(Referral.referee_id == 3))
    assert referral is not None
    revoke_referral(context.at(msk("2023-04-02 12:00")), manager.id, referral, "Один телефон")
    # the burst of 2 that is left is no burst
    assert sorted(s.kind for s in fraud.signals_for(1, MOSCOW)) == ["shared_domain"]
    assert fraud.signals_for(3, MOSCOW) == []
