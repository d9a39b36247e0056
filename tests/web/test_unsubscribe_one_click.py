"""Unsubscribe the way mail clients do it: the letter's `List-Unsubscribe` headers, received by
a real SMTP server, and the one-click POST (RFC 8058) a mail client then sends."""

from __future__ import annotations

import json
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cabinet.db import db
from cabinet.invitations.models import StopListEntry
from cabinet.invitations.smtp import SmtpGateway
from tests.invitations.smtp_server import smtp_server
from tests.web.conftest import Auth, outside_requests
from tests.web.test_invitations_web import member, queued

ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def stop_listed(app: Flask) -> dict[str, str]:
    with outside_requests(app):
        return {e.recipient: e.source for e in db.session.scalars(select(StopListEntry))}


def test_every_letter_carries_one_click_unsubscribe_and_a_mail_client_can_use_it(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    member(app, client, auth)
    auth.post(
        "/referral/invite", {"channel": "email", "recipient": "friend@example.ru", "consent": "y"}
    )
    (row,) = queued(app)
    # The consent tick as the member gave it: from where, and the words shown beside it.
    assert (row.consent_ip, row.consent_text) == (
        "127.0.0.1",
        "Друг согласен получить сообщение с приглашением",
    )
    with smtp_server() as smtp:
        gateway = SmtpGateway(smtp.url(), "АТС <invitations@pbx.example.ru>", 2, 10, 10)
        assert gateway.send(json.loads(row.payload), row.key).verdict == "accepted"
        (letter,) = smtp.letters
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(letter["List-Unsubscribe"])
    found = re.fullmatch(r"<(http://127\.0\.0\.1:5000(/unsubscribe/[^>]+))>", header)
    assert found is not None, header
    url, path = found.groups()
    assert url in letter.get_body(("plain",)).get_content()  # the same link as in the text

    # The mail client: a POST without cookies or a CSRF token, the RFC 8058 body.
    mail_client = app.test_client(use_cookies=False)
    answer = mail_client.post(path, data=ONE_CLICK)
    assert answer.status_code == 200
    assert answer.text == "Адрес friend@example.ru исключен из рассылки приглашений.\n"
    assert stop_listed(app) == {"friend@example.ru": "one-click"}
    again = mail_client.post(path, data=ONE_CLICK)  # clients may send it twice
    assert again.status_code == 200 and stop_listed(app) == {"friend@example.ru": "one-click"}

    # The member cannot invite the address again: the refusal the member reads.
    refused = auth.post(
        "/referral/invite", {"channel": "email", "recipient": "friend@example.ru", "consent": "y"}
    )
    assert refused.status_code == 422
    assert "Получатель отказался от рассылок: отправить ему приглашение нельзя." in refused.text


def test_a_forged_one_click_token_changes_nothing(app: Flask) -> None:
    before = stop_listed(app)
    mail_client = app.test_client(use_cookies=False)
    forged = mail_client.post("/unsubscribe/ImZyaWVuZEBleGFtcGxlLnJ1Ig.forged", data=ONE_CLICK)
    assert forged.status_code == 400
    assert forged.text.startswith("Ссылка для отказа от рассылки недействительна.")
    assert stop_listed(app) == before


def test_the_mailto_link_follows_the_setting() -> None:
    from cabinet.invitations import messages

    header = messages.list_unsubscribe("https://lk.example.ru/unsubscribe/t", "stop@example.ru")
    assert header == (
        "<https://lk.example.ru/unsubscribe/t>, <mailto:stop@example.ru?subject=unsubscribe>"
    )
    assert messages.list_unsubscribe("https://lk.example.ru/unsubscribe/t", None) == (
        "<https://lk.example.ru/unsubscribe/t>"
    )
