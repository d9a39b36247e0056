"""Invitees' contacts kept only as long as needed: replaced by a keyed hash after
INVITEE_RETENTION_DAYS, and the cool-down, the stop list and conversion matching still work."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from cabinet.clock import Context, SettableClock
from cabinet.db import db
from cabinet.invitations import errors, queries, rules, services
from cabinet.invitations.delivery import Worker
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.invitations.settings import InvitationSettings
from cabinet.referrals import services as referral_services
from tests.conftest import msk
from tests.factories import make_client, make_member

SENT = msk("2023-03-01 10:00")
PHONE = "+79101234567"


def settings(app: Flask, **limits: object) -> InvitationSettings:
    base: InvitationSettings = app.extensions["invitations"]
    return dataclasses.replace(base, limits=dataclasses.replace(base.limits, **limits))


def personal_link(code: str) -> str:
    return f"http://t/r/{code}"


def invite(context: Context, config: InvitationSettings, member: int, to: str) -> None:
    services.invite(
        context,
        config,
        member,
        "sms",
        to,
        True,
        lambda r: f"http://t/u/{r}",
        personal_link,
        refusal_link=lambda token: f"http://t/s/{token}",
    )


def sent_invitation(app: Flask, context: Context) -> str:
    """Member 1 invites PHONE; the gateway took it at SENT. Returns the member's code."""
    code = make_member(context, 1, msk("2023-02-01 09:00"), name="ТехСтрой")
    invite(context.at(SENT), settings(app), 1, PHONE)
    row = db.session.scalars(select(Invitation)).one()
    row.status, row.sent_at = "sent", SENT  # what the worker records
    db.session.commit()
    return code


def stored() -> tuple[str, str]:
    db.session.rollback()
    row = db.session.scalars(select(Invitation)).one()
    return row.recipient, row.payload


def test_a_contact_is_kept_raw_until_its_fate_is_known_plus_the_retention(
    app: Flask, ctx: Flask, context: Context
) -> None:
    sent_invitation(app, context)
    config = settings(app)
    assert config.retention_days == 30
    early = services.purge_contacts(context.at(SENT + timedelta(days=29)), config)
    assert (early.invitations, stored()[0]) == (0, PHONE)
    late = services.purge_contacts(context.at(SENT + timedelta(days=30, minutes=1)), config)
    assert late.invitations == 1
    recipient, payload = stored()
    assert recipient == rules.contact_hash(config.contact_hash_key, PHONE)
    assert recipient.startswith("h:") and len(recipient) == 66
    assert payload == "{}"  # the text named the number too
    again = services.purge_contacts(context.at(SENT + timedelta(days=60)), config)
    assert again.invitations == 0  # done once


def test_a_queued_message_keeps_its_contact_however_old(
    app: Flask, ctx: Flask, context: Context
) -> None:
    make_member(context, 1, msk("2023-02-01 09:00"))
    invite(context.at(SENT), settings(app), 1, PHONE)
    services.purge_contacts(context.at(SENT + timedelta(days=365)), settings(app))
    assert stored()[0] == PHONE


def test_the_cool_down_holds_on_the_hash(app: Flask, ctx: Flask, context: Context) -> None:
    sent_invitation(app, context)
    long_cooldown = settings(app, recipient_cooldown_days=60)
    later = context.at(SENT + timedelta(days=31))
    services.purge_contacts(later, long_cooldown)
    make_member(context, 2, msk("2023-02-01 09:00"))
    with pytest.raises(errors.RecipientCoolingDown):
        invite(later, long_cooldown, 2, "8 910 123-45-67")
    invite(later, long_cooldown, 2, "+79101234568")  # another number: fine


def test_the_stop_list_holds_on_the_hash_and_support_can_still_remove(
    app: Flask, ctx: Flask, context: Context
) -> None:
    config = settings(app)
    key = config.contact_hash_key
    assert services.opt_out(context.at(SENT), PHONE, "sms reply", key)
    purged = services.purge_contacts(context.at(SENT + timedelta(days=31)), config)
    assert purged.stop_list == 1
    db.session.rollback()
    assert db.session.scalars(select(StopListEntry.recipient)).all() == [
        rules.contact_hash(key, PHONE)
    ]
    make_member(context, 2, msk("2023-02-01 09:00"))
    with pytest.raises(errors.RecipientOptedOut):
        invite(context.at(SENT + timedelta(days=31)), config, 2, PHONE)
    assert not services.opt_out(context.at(SENT + timedelta(days=32)), PHONE, "support", key)
    assert services.opt_in(PHONE, key)  # at the person's request
    assert db.session.scalars(select(StopListEntry)).all() == []


def test_conversion_matching_works_on_the_hash(app: Flask, ctx: Flask, context: Context) -> None:
    code = sent_invitation(app, context)
    config = settings(app)
    services.purge_contacts(context.at(SENT + timedelta(days=31)), config)
    make_client(2, "Друг", phone="8 910 123-45-67", registered_at=msk("2023-04-01 09:00"))
    referral_services.join(context.at(msk("2023-04-02 09:00")), 2, code)
    db.session.rollback()
    (line,) = queries.sent_by(1, hash_key=config.contact_hash_key)
    assert line.fate == "granted"
    assert rules.show_recipient(line.channel, line.recipient) == (
        "контакт удален по сроку хранения"
    )
    (unmatched,) = queries.sent_by(1, hash_key=b"another key")
    assert unmatched.fate == "sent"


def test_the_worker_and_the_command_purge(
    app: Flask, ctx: Flask, context: Context, clock: SettableClock
) -> None:
    sent_invitation(app, context)
    clock.set(SENT + timedelta(days=31))
    Worker(context, settings(app), {}).purge(app)
    assert stored()[0].startswith("h:")
    result = app.test_cli_runner().invoke(args=["invitations", "purge"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Приглашения: контакты заменены хешем: приглашений 0, в стоп-листе 0 "
        "(срок хранения 30 дн.).\n"
    )


def test_the_consent_is_stored_as_given(app: Flask, ctx: Flask, context: Context) -> None:
    make_member(context, 1, msk("2023-02-01 09:00"))
    services.invite(
        context.at(SENT),
        settings(app),
        1,
        "email",
        "friend@example.ru",
        True,
        lambda r: "http://t/u",
        personal_link,
        consent_ip="203.0.113.7",
        consent_text="Друг согласен получить сообщение с приглашением",
    )
    row = db.session.scalars(select(Invitation)).one()
    assert (row.created_at, row.consent_ip, row.consent_text) == (
        SENT,
        "203.0.113.7",
        "Друг согласен получить сообщение с приглашением",
    )
    assert json.loads(row.payload)["to"] == "friend@example.ru"
