"""The dashboard's numbers read by SQL (cabinet/dashboard/queries.py) on a real database."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from sqlalchemy import select

from cabinet.auth.services import create_manager
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.dashboard import queries as dashboard
from cabinet.db import db
from cabinet.referrals import services
from cabinet.referrals.models import Referral
from cabinet.referrals.revocation import revoke_referral
from tests.conftest import MOSCOW, msk
from tests.support.factories import invitation, make_client, make_member


def _invite(member_id: int, channel: str, recipient: str, status: str, at: datetime) -> None:
    db.session.add(invitation(member_id, recipient, at, channel=channel, status=status))
    db.session.commit()


def test_conversion_matches_referees_by_email_or_any_way_of_writing_the_phone(
    ctx: Flask, context: Context
) -> None:
    at = msk("2023-03-31 09:00")
    code_1 = make_member(context, 1, msk("2023-03-01 09:00"))
    code_9 = make_member(context, 9, msk("2023-03-01 09:00"))
    make_client(2, email="friend@company.ru")
    make_client(3, phone="8 (910) 123-45-67")
    make_client(4, phone="+7 999 000-00-01")
    make_client(5, email="other@company.ru")
    make_client(6, email="revoked@company.ru")
    # 1 invited 2 by e-mail twice (one delivery counts once), 3 by SMS, 4 (who applies 9's
    # code, not 1's), 6 (whose referral is revoked); 5 was never delivered to.
    for recipient, channel in [
        ("friend@company.ru", "email"),
        ("friend@company.ru", "email"),
        ("+79101234567", "sms"),
        ("+79990000001", "sms"),
        ("revoked@company.ru", "email"),
    ]:
        _invite(1, channel, recipient, "sent", at)
    _invite(1, "email", "other@company.ru", "failed", at)
    for referee, code in [(2, code_1), (3, code_1), (4, code_9), (5, code_1), (6, code_1)]:
        services.join(context.at(msk("2023-03-31 10:00")), referee, code)
    manager = create_manager("support@example.ru", "password-123", "Поддержка", at)
    referral = db.session.scalar(select(Referral.id).where(Referral.referee_id == 6))
    assert referral is not None
    revoke_referral(context.at(msk("2023-03-31 11:00")), manager.id, referral, "Проверка")

    board = dashboard.build(msk("2023-04-01 12:00"), MOSCOW)

    assert (board.invitations_delivered, board.invitations_converted) == (4, 2)
    assert board.conversion_percent == 50.0


def test_a_phone_is_kept_in_e164_whenever_it_is_written(ctx: Flask) -> None:
    make_client(7, phone="8 (910) 123-45-67")
    make_client(8, phone="не телефон")
    client = db.session.get(Client, 7)
    assert client is not None and client.phone_e164 == "+79101234567"
    client.phone = "+7 999 000-00-01"
    db.session.commit()
    assert client.phone_e164 == "+79990000001"
    other = db.session.get(Client, 8)
    assert other is not None and other.phone_e164 is None
