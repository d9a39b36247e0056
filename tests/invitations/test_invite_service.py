"""Queueing invitations on a real database: validation and limits before anything is stored."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations import errors, services
from cabinet.invitations.models import Invitation
from cabinet.invitations.settings import InvitationSettings
from tests.conftest import msk
from tests.factories import make_client, make_member


def settings(app: Flask, **limits: object) -> InvitationSettings:
    base: InvitationSettings = app.extensions["invitations"]
    return dataclasses.replace(base, limits=dataclasses.replace(base.limits, **limits))


def link(recipient: str) -> str:
    return f"http://cabinet.test/unsubscribe/{recipient}"


def personal(code: str) -> str:
    return f"http://cabinet.test/r/{code}"


def refusal(token: str) -> str:
    return f"http://cabinet.test/s/{token}"


def invite(
    app: Flask, context: Context, member: int, channel: str, to: str, **kw: object
) -> object:
    return services.invite(
        context,
        kw.pop("config", None) or settings(app),
        member,
        channel,  # type: ignore[arg-type]
        to,
        bool(kw.pop("consent", True)),
        link,
        personal,
        refusal_link=refusal,
    )


def queued() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Invitation)) or 0


def test_an_sms_invitation_is_stored_with_the_code(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"), name="ТехСтрой")
    result = invite(ctx, context, 1, "sms", "8 (910) 123-45-67")
    assert result.shown_recipient == "+7 910 123-45-67"  # type: ignore[attr-defined]
    row = db.session.scalars(select(Invitation)).one()
    assert (row.channel, row.recipient, row.status, row.attempts) == (
        "sms",
        "+79101234567",
        "queued",
        0,
    )
    payload = json.loads(row.payload)
    assert payload["to"] == "+79101234567" and code in payload["text"]
    assert row.refusal_token is not None and len(row.refusal_token) == 8
    assert payload["text"] == (
        "ТехСтрой приглашает в Корпоративную АТС, скидка 20\u00a0%: "
        f"{personal(code)} Отказ: {refusal(row.refusal_token)}"
    )
    assert payload["sender"] == "KorpATS"
    assert row.next_attempt_at == row.created_at == context.clock.now()
    assert len(row.key) == 36


def test_an_email_invitation_names_the_member_and_links_the_unsubscribe(
    ctx: Flask, context: Context
) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"), name="ТехСтрой")
    invite(ctx, context, 1, "email", "Friend@Example.ru")
    payload = json.loads(db.session.scalars(select(Invitation.payload)).one())
    assert personal(code) in payload["text"] and f'href="{personal(code)}"' in payload["html"]
    assert payload["to"] == "friend@example.ru"
    assert payload["subject"].startswith("ТехСтрой приглашает")
    assert link("friend@example.ru") in payload["text"]


@pytest.mark.parametrize(
    ("case", "refusal"),
    [
        ("not_member", errors.NotAMember),
        ("no_consent", errors.ConsentMissing),
        ("bad_phone", errors.PhoneInvalid),
        ("foreign", errors.PhoneCountryNotAllowed),
        ("landline", errors.PhoneNotMobile),
        ("bad_email", errors.EmailInvalid),
        ("header_injection", errors.EmailInvalid),
        ("huge", errors.EmailInvalid),
        ("opted_out", errors.RecipientOptedOut),
        ("cooldown", errors.RecipientCoolingDown),
        ("daily_cap", errors.DailyCapReached),
        ("sms_budget", errors.SmsBudgetExhausted),
    ],
)
def test_refusals_queue_nothing(
    ctx: Flask, context: Context, case: str, refusal: type[Exception]
) -> None:
    make_member(context, 1, msk("2023-03-01 09:00"))
    make_member(context, 2, msk("2023-03-01 09:00"))
    make_client(3)
    invite(ctx, context, 2, "sms", "+79101110000")  # another member's earlier invitation
    services.opt_out(context, "+79109999999", "test")
    tight = settings(ctx, daily_cap=1, sms_daily_budget=1)
    actions = {
        "not_member": lambda: invite(ctx, context, 3, "sms", "+79101234567"),
        "no_consent": lambda: invite(ctx, context, 1, "sms", "+79101234567", consent=False),
        "bad_phone": lambda: invite(ctx, context, 1, "sms", "+7 910 12"),
        "foreign": lambda: invite(ctx, context, 1, "sms", "+380 50 123 4567"),
        "landline": lambda: invite(ctx, context, 1, "sms", "+7 495 123-45-67"),
        "bad_email": lambda: invite(ctx, context, 1, "email", "friend@"),
        "header_injection": lambda: invite(
            ctx, context, 1, "email", "a@example.ru\r\nBcc: b@example.ru"
        ),
        "huge": lambda: invite(ctx, context, 1, "email", "x" * 10_240),
        "opted_out": lambda: invite(ctx, context, 1, "sms", "+7 910 999-99-99"),
        "cooldown": lambda: invite(ctx, context, 1, "sms", "+79101110000"),
        "daily_cap": lambda: [
            invite(ctx, context, 1, "email", "a@example.ru", config=tight),
            invite(ctx, context, 1, "email", "b@example.ru", config=tight),
        ],
        "sms_budget": lambda: invite(ctx, context, 1, "sms", "+79101234567", config=tight),
    }
    before = queued() + (1 if case == "daily_cap" else 0)
    with pytest.raises(refusal):
        actions[case]()
    assert queued() == before


def test_the_daily_cap_resets_at_moscow_midnight(ctx: Flask, app: Flask, context: Context) -> None:
    make_member(context, 1, msk("2023-03-01 09:00"))
    tight = settings(app, daily_cap=1)
    evening = context.at(msk("2023-03-31 23:50"))
    invite(app, evening, 1, "email", "a@example.ru", config=tight)
    with pytest.raises(errors.DailyCapReached):
        invite(app, context.at(msk("2023-03-31 23:59")), 1, "email", "b@example.ru", config=tight)
    invite(app, context.at(msk("2023-04-01 00:00")), 1, "email", "b@example.ru", config=tight)


def test_the_cooldown_is_across_members(ctx: Flask, context: Context) -> None:
    make_member(context, 1, msk("2023-03-01 09:00"))
    make_member(context, 2, msk("2023-03-01 09:00"))
    invite(ctx, context, 1, "email", "friend@example.ru")
    with pytest.raises(errors.RecipientCoolingDown):
        invite(ctx, context, 2, "email", "FRIEND@example.ru")
    later = context.at(context.clock.now() + timedelta(days=7))
    invite(ctx, later, 2, "email", "friend@example.ru")


def test_stop_list_add_and_remove(ctx: Flask, context: Context) -> None:
    assert services.opt_out(context, "friend@example.ru", "test") is True
    assert services.opt_out(context, "friend@example.ru", "test") is False
    assert services.opt_in("friend@example.ru") is True
    assert services.opt_in("friend@example.ru") is False


def test_24_new_accounts_cannot_drain_the_days_sms_budget(ctx: Flask, context: Context) -> None:
    """24 accounts once spent the whole 500/day budget in seconds. Now each new member has 2
    SMS a day, and the reserve stays for established members."""
    now = msk("2023-03-31 12:00")
    config = settings(ctx, sms_daily_budget=60, sms_reserve=20, sms_new_member_daily=2)
    established = make_member(context, 1, msk("2023-01-10 09:00"), registered_at=msk("2023-01-01"))
    assert established
    sent = 0
    for member in range(100, 124):
        make_member(context, member, now - timedelta(days=1), registered_at=now - timedelta(days=3))
        for n in range(30):  # an attacker keeps trying
            try:
                invite(ctx, context, member, "sms", f"+7916{member:03d}{n:04d}", config=config)
            except (errors.SmsMemberCapReached, errors.SmsBudgetExhausted):
                break
            sent += 1
    assert sent <= 60 - 20
    invite(ctx, context, 1, "sms", "+79161234567", config=config)  # a real member still can
