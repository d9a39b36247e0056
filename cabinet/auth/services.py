"""Checking a password and ending sessions; the views only translate."""

from __future__ import annotations

import secrets

from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from cabinet.clients.models import Client
from cabinet.db import begin_write, db
from cabinet.manage.models import Manager
from cabinet.manage.services import load_manager
from cabinet.referrals.errors import ProgramRefusal


class LoginRefused(ProgramRefusal):
    message = "Неверный email или пароль."


class AccountClosed(ProgramRefusal):
    message = "Договор закрыт: вход в личный кабинет недоступен."


# Checking a throwaway hash when the e-mail is unknown keeps the answer time the same.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(16))


def authenticate(email: str, password: str) -> Client:
    client = db.session.scalar(select(Client).where(Client.email == email.strip().lower()))
    if client is None or client.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        raise LoginRefused()
    if not check_password_hash(client.password_hash, password):
        raise LoginRefused()
    if not client.active:
        raise AccountClosed()
    return client


def end_sessions(client_id: int) -> None:
    """«Выйти»: every cookie issued so far for this client stops working."""
    begin_write()
    db.session.execute(
        update(Client)
        .where(Client.id == client_id)
        .values(session_version=Client.session_version + 1)
    )
    db.session.commit()


def load_session_user(session_id: str) -> Client | Manager | None:
    """The signed-in client (`<client id>.<session version>`) or manager (`m<id>.<version>`),
    if the session is still valid."""
    if session_id.startswith("m"):
        return load_manager(session_id)
    client_part, _, version_part = session_id.partition(".")
    if not (client_part.isdigit() and version_part.isdigit()):
        return None
    client = db.session.get(Client, int(client_part))
    if client is None or not client.active or client.session_version != int(version_part):
        return None
    return client
