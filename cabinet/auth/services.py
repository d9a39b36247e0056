"""Signing in and out, for clients and managers alike; the views only translate."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from cabinet import addresses
from cabinet.auth.errors import AccountClosed, LoginRefused, ManagerRefused
from cabinet.auth.models import Manager
from cabinet.clients.models import Client, ClientRecord, load_record
from cabinet.db import db, transaction
from cabinet.passwords import hash_password, password_matches


def _checked_password(password_hash: str | None, password: str) -> None:
    # An unknown e-mail costs as much as a wrong password: the answer time tells nothing.
    if not password_matches(password_hash, password):
        raise LoginRefused()


def authenticate(email: str, password: str) -> Client:
    """A client signing in to the cabinet."""
    client = db.session.scalar(select(Client).where(Client.email == email.strip().lower()))
    _checked_password(None if client is None else client.password_hash, password)
    assert client is not None  # noqa: S101 - _checked_password refused an unknown e-mail
    if not client.active:
        raise AccountClosed()
    return client


def authenticate_manager(email: str, password: str) -> Manager:
    """A manager signing in to the panel."""
    manager = db.session.scalar(select(Manager).where(Manager.email == email.strip().lower()))
    _checked_password(None if manager is None else manager.password_hash, password)
    assert manager is not None  # noqa: S101 - _checked_password refused an unknown e-mail
    return manager


def end_sessions(user: Client | ClientRecord | Manager) -> None:
    """«Выйти»: every cookie issued so far for this account stops working."""
    model: type[Client] | type[Manager] = Manager if isinstance(user, Manager) else Client
    with transaction():
        db.session.execute(
            update(model)
            .where(model.id == user.id)
            .values(session_version=model.session_version + 1)
        )


def load_session_user(session_id: str) -> ClientRecord | Manager | None:
    """The signed-in client (`<client id>.<session version>`) or manager (`m<id>.<version>`),
    if the session is still valid. A client is read as a record (every page of the cabinet
    reads it: one statement of columns), a manager as the model."""
    parsed = parse_session_id(session_id)
    if parsed is None:
        return None
    is_manager, user_id, version = parsed
    user: ClientRecord | Manager | None = (
        db.session.get(Manager, user_id) if is_manager else load_record(user_id)
    )
    if user is None or not user.is_active or user.session_version != version:
        return None
    return user


def parse_session_id(session_id: str) -> tuple[bool, int, int] | None:
    """(a manager's?, the account's id, the session version) of a session's user id."""
    is_manager = session_id.startswith("m")
    user_part, _, version_part = session_id.removeprefix("m").partition(".")
    if not (user_part.isdigit() and version_part.isdigit()):
        return None
    return is_manager, int(user_part), int(version_part)


def create_manager(
    email: str,
    password: str,
    name: str,
    now: datetime,
    *,
    edits_program_terms: bool = False,
    opens_client_cabinets: bool = False,
    manages_webhooks: bool = False,
) -> Manager:
    """A manager account; `edits_program_terms`: the right to change the program's terms;
    `opens_client_cabinets`: the right to «Открыть как клиент»; `manages_webhooks`: the right
    to change webhook subscribers."""
    try:
        address = addresses.normalise_email(email)
    except addresses.BadEmail as exc:
        raise ManagerRefused(f"Некорректный адрес электронной почты: {email.strip()}") from exc
    if len(password) < 8:
        raise ManagerRefused("Пароль — не короче 8 символов.")
    with transaction():
        if db.session.scalar(select(Manager.id).where(Manager.email == address)) is not None:
            raise ManagerRefused(f"Менеджер с адресом {address} уже есть.")
        manager = Manager(
            email=address,
            name=name.strip() or address,
            created_at=now,
            password_hash=hash_password(password),
            edits_program_terms=edits_program_terms,
            opens_client_cabinets=opens_client_cabinets,
            manages_webhooks=manages_webhooks,
        )
        db.session.add(manager)
    return manager
