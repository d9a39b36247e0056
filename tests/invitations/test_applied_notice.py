"""The member's notice «Клиент … применил ваш код» (docs/invitations.md, «Письмо участнику»):
queued in the activation's transaction, sent by the same worker, apart from invitations."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from cabinet.auth.services import create_manager
from cabinet.clock import Context
from cabinet.db import db
from cabinet.errors import ProgramRefusal
from cabinet.invitations import notices, queries, services
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.referrals import services as referral_services
from cabinet.referrals.on_behalf import apply_code_for_client
from tests.conftest import msk
from tests.factories import make_client, make_member
from tests.invitations.smtp_server import smtp_server
from tests.invitations.test_delivery import drain, statuses
from tests.invitations.test_smtp import smtp_worker

MEMBER = "member@example.ru"


def notices_queued() -> list[Invitation]:
    db.session.rollback()
    return list(
        db.session.scalars(
            select(Invitation).where(Invitation.kind == "notice").order_by(Invitation.id)
        )
    )


def payload(row: Invitation) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(row.payload)
    return result


def member_with_code(context: Context) -> str:
    return make_member(context, 1, msk("2023-03-21 10:00"), name="АльфаТелеком", email=MEMBER)


def test_an_applied_code_queues_one_notice_to_the_member(ctx: Flask, context: Context) -> None:
    code = member_with_code(context)
    make_client(2, "ТехСтрой", email="friend@example.ru")
    referral_services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    [row] = notices_queued()
    assert (row.member_id, row.channel, row.recipient, row.status) == (1, "email", MEMBER, "queued")
    letter = payload(row)
    assert letter["to"] == MEMBER
    assert letter["subject"] == "Клиент «ТехСтрой» применил ваш код"
    # Level 1 of the help page's ladder: 20 % for 3 months from the activation.
    assert (
        "Клиент «ТехСтрой» применил ваш код приглашения. "
        "Ваша скидка теперь 20\xa0% до 29.06.2023." in letter["text"]
    )
    assert "Ваша скидка теперь 20\xa0% до\xa029.06.2023." in letter["html"]
    assert "headers" not in letter  # transactional: no List-Unsubscribe (the switch instead)
    # Not an invitation: the «Приглашения» tab lists none, the member's limits count none.
    assert queries.sent_by(1) == []


def test_the_second_activation_reports_the_sum_the_page_shows(ctx: Flask, context: Context) -> None:
    code = member_with_code(context)
    make_client(2, "ТехСтрой")
    make_client(3, "Бета")
    referral_services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    referral_services.join(context.at(msk("2023-04-02 12:00")), 3, code)
    texts = [payload(row)["text"] for row in notices_queued()]
    # Level 2: 40 % for 6 months; level 1's grant closes at the activation (the page's sum).
    assert (
        "Клиент «Бета» применил ваш код приглашения. "
        "Ваша скидка теперь 40\xa0% до 01.10.2023." in texts[1]
    )


def test_grants_that_end_apart_are_told_step_by_step(ctx: Flask, context: Context) -> None:
    """The member holds its own referee grant too: the sum lasts until the earlier end, then
    the rest until the later one — as «Ваша скидка» on the page goes, never one sum to the end."""
    friend_code = make_member(context, 9, msk("2023-03-01 09:00"))
    make_client(1, "АльфаТелеком", email=MEMBER, registered_at=msk("2023-03-20 10:00"))
    code = referral_services.join(context.at(msk("2023-03-21 10:00")), 1, friend_code).code
    make_client(2, "ТехСтрой")
    referral_services.join(context.at(msk("2023-04-10 12:00")), 2, code)
    [row] = [row for row in notices_queued() if row.member_id == 1]
    assert (
        "Клиент «ТехСтрой» применил ваш код приглашения. "
        "Ваша скидка теперь 40\xa0% до 20.06.2023, затем 20\xa0% до 09.07.2023."
        in payload(row)["text"]
    )


def test_the_switch_off_queues_none(ctx: Flask, context: Context) -> None:
    code = member_with_code(context)
    make_client(2, "ТехСтрой")
    assert notices.set_switch(1, on=False)
    referral_services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    assert notices_queued() == []


def test_a_refused_second_apply_queues_none(ctx: Flask, context: Context) -> None:
    code = member_with_code(context)
    other = make_member(context, 3, msk("2023-03-21 11:00"), email="other@example.ru")
    make_client(2, "ТехСтрой")
    referral_services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    with pytest.raises(ProgramRefusal):
        referral_services.join(context.at(msk("2023-03-31 10:00")), 2, other)
    assert [row.recipient for row in notices_queued()] == [MEMBER]


def test_the_members_address_on_the_stop_list_gets_none(ctx: Flask, context: Context) -> None:
    code = member_with_code(context)
    make_client(2, "ТехСтрой")
    assert services.opt_out(context, MEMBER, "unsubscribe")
    referral_services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    assert notices_queued() == []
    assert db.session.scalar(select(StopListEntry.recipient)) == MEMBER


def test_a_manager_applying_on_behalf_queues_it_too(ctx: Flask, context: Context) -> None:
    code = member_with_code(context)
    make_client(2, "ТехСтрой")
    manager = create_manager(
        "support@pbx.example.ru", "длинный-пароль", "Поддержка", msk("2023-03-01 09:00")
    ).id
    apply_code_for_client(context.at(msk("2023-03-30 15:47")), manager, 2, code, "по звонку")
    [row] = notices_queued()
    assert payload(row)["subject"] == "Клиент «ТехСтрой» применил ваш код"


def test_the_worker_delivers_the_notice_through_a_real_smtp_server(
    app: Flask, ctx: Flask, context: Context
) -> None:
    code = member_with_code(context)
    make_client(2, "ТехСтрой")
    referral_services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    [row] = notices_queued()
    with smtp_server() as smtp:
        drain(app, smtp_worker(app, smtp.url()))
    assert statuses() == Counter({"sent": 1})
    [letter] = smtp.letters
    assert letter["To"] == MEMBER
    assert letter["Subject"] == "Клиент «ТехСтрой» применил ваш код"
    assert letter["Message-ID"] == f"<{row.key}@pbx.example.ru>"
    assert letter["List-Unsubscribe"] is None  # transactional: the cabinet's switch instead
    text = letter.get_body(("plain",)).get_content()
    assert "Ваша скидка теперь 20\xa0% до 29.06.2023." in text
    assert "Ваша скидка теперь" in letter.get_body(("html",)).get_content()
