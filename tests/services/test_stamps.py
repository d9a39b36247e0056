"""The change stamps (cabinet/stamps.py) follow every write, whatever way it is made."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import insert, text, update

from cabinet import stamps
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.invitations.models import Invitation
from cabinet.referrals import services
from tests.factories import make_client


def _now() -> tuple[int | None, int | None]:
    db.session.rollback()  # a new snapshot (SQLite keeps the read transaction's)
    return stamps.of_client(400)


def _member(context: Context) -> None:
    make_client(400)
    services.join(context, 400)


def _invitation(key: str) -> dict[str, object]:
    moment = datetime(2023, 3, 31, 9, tzinfo=UTC)
    return {
        "key": key,
        "member_id": 400,
        "channel": "sms",
        "recipient": "+79990000000",
        "payload": "{}",
        "status": "queued",
        "attempts": 0,
        "created_at": moment,
        "next_attempt_at": moment,
    }


def test_a_core_write_on_a_connection_of_its_own_changes_the_stamp(
    ctx: Flask, context: Context
) -> None:
    _member(context)
    before = _now()
    with db.engine.begin() as connection:
        connection.execute(insert(Invitation), [_invitation("k1")])
    after = _now()
    assert after[0] != before[0]
    assert after[1] == before[1]  # the member's own: the program's stays


def test_the_outboxs_bookkeeping_changes_no_stamp(ctx: Flask, context: Context) -> None:
    _member(context)
    with transaction():
        db.session.execute(insert(Invitation), [_invitation("k2")])
    before = _now()
    with transaction():
        db.session.execute(
            update(Invitation).where(Invitation.key == "k2").values(attempts=3, last_error="x")
        )
    assert _now() == before
    with transaction():
        db.session.execute(update(Invitation).where(Invitation.key == "k2").values(status="sent"))
    after = _now()
    # an UPDATE by key names no member: everyone's stamp changes (never stale, cached less)
    assert after[1] != before[1]


def test_a_text_write_changes_everyones_stamp(ctx: Flask, context: Context) -> None:
    _member(context)
    before = _now()
    with transaction():
        db.session.execute(text("UPDATE clients SET name = 'Другое' WHERE id = 400"))
    after = _now()
    assert after[1] != before[1]


def test_a_referees_change_is_its_referrers_too(ctx: Flask, context: Context) -> None:
    make_client(400)
    code = services.join(context, 400).code
    make_client(401)
    services.join(context, 401, code)
    before = _now()
    with transaction():
        db.session.get(Client, 401).name = "Новое имя"
    after = _now()
    assert after[0] != before[0]
    assert after[1] == before[1]
