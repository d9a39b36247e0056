"""Creating clients (support staff through the CLI, the demo seed) and provisioning them (API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from cabinet import addresses, events
from cabinet.clients import errors as client_errors
from cabinet.clients.models import CLIENT_STATUSES, Client
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.errors import ProgramRefusal
from cabinet.passwords import hash_password


class InvalidClient(ProgramRefusal):
    pass


@dataclass(frozen=True)
class NewClient:
    id: int
    name: str
    registered_at: datetime
    promo_until: datetime | None = None
    email: str | None = None
    phone: str | None = None
    password: str | None = None
    status: str = "active"


def normalise_email(raw: str) -> str:
    try:
        return addresses.normalise_email(raw)
    except addresses.BadEmail as exc:
        raise InvalidClient(f"Некорректный адрес электронной почты: {raw.strip()}") from exc


def create_client(new: NewClient) -> Client:
    name, email = _checked(new)
    with transaction():
        if db.session.get(Client, new.id) is not None:
            raise client_errors.ClientExists(new.id)
        if email is not None and db.session.scalar(select(Client.id).where(Client.email == email)):
            raise client_errors.EmailTaken(email)
        client = Client(
            id=new.id,
            name=name,
            registered_at=new.registered_at,
            promo_until=new.promo_until,
            email=email,
            phone=None if new.phone is None else new.phone.strip(),
            password_hash=None if new.password is None else hash_password(new.password),
            status=new.status,
        )
        db.session.add(client)
    return client


def _checked(new: NewClient) -> tuple[str, str | None]:
    """The name and e-mail as stored, or InvalidClient: nothing is read or written yet."""
    if new.id <= 0:
        raise InvalidClient("ID клиента — целое положительное число.")
    name = new.name.strip()
    if not name or len(name) > 200:
        raise InvalidClient("Название клиента — от 1 до 200 символов.")
    if new.status not in CLIENT_STATUSES:
        raise InvalidClient("Статус клиента — active или closed.")
    if new.promo_until is not None and new.promo_until < new.registered_at:
        raise InvalidClient("Промо-период не может закончиться раньше регистрации АТС.")
    email = None if new.email is None else normalise_email(new.email)
    if new.password is not None and len(new.password) < 8:
        raise InvalidClient("Пароль — не короче 8 символов.")
    return name, email


def find_client(client_id: int) -> Client:
    client = db.session.get(Client, client_id)
    if client is None:
        raise client_errors.ClientNotFound(client_id)
    return client


# ---- provisioning (PUT /api/v1/clients/{id}) -----------------------------------------------

PROVISIONED_FIELDS = ("name", "registered_at", "promo_until", "email", "phone", "status")


@dataclass(frozen=True)
class Provisioned:
    client: Client
    created: bool
    changed: tuple[str, ...]  # the fields that changed (all of them for a new client)


def provision_client(context: Context, wanted: NewClient) -> Provisioned:
    """Create the client or bring it to `wanted`; the same request twice changes nothing.

    The password (the cabinet's sign-in) is not provisioned: `wanted.password` must be None.
    Closing a client is `status="closed"`; grants already given are not recomputed."""
    if wanted.password is not None:
        raise InvalidClient("Пароль не передается при подключении клиента.")
    name, email = _checked(wanted)
    values = {
        "name": name,
        "registered_at": wanted.registered_at,
        "promo_until": wanted.promo_until,
        "email": email,
        "phone": None if wanted.phone is None else wanted.phone.strip() or None,
        "status": wanted.status,
    }
    for attempt in (1, 2):
        try:
            with transaction():
                result = _provision(context, wanted.id, values)
        except IntegrityError:
            # Two requests created the same client (or took the same e-mail) at once; the
            # second try sees the winner's row and compares with it.
            if attempt == 2:
                raise
            continue
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _provision(context: Context, client_id: int, values: dict[str, Any]) -> Provisioned:
    client = db.session.scalars(
        select(Client)
        .where(Client.id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    email = values["email"]
    if email is not None and db.session.scalar(
        select(Client.id).where(Client.email == email, Client.id != client_id)
    ):
        raise client_errors.EmailTaken(email)
    now = context.clock.now()
    if client is None:
        client = Client(id=client_id, **values)
        db.session.add(client)
        db.session.flush()
        events.record(
            context, "client_created", client_id=client_id, at=now, data=client_snapshot(client)
        )
        return Provisioned(client, True, PROVISIONED_FIELDS)
    changed = tuple(f for f in PROVISIONED_FIELDS if getattr(client, f) != values[f])
    for field in changed:
        setattr(client, field, values[field])
    if changed:
        db.session.flush()
        events.record(
            context,
            "client_updated",
            client_id=client_id,
            at=now,
            data={"changed": list(changed), "client": client_snapshot(client)},
        )
    return Provisioned(client, False, changed)


def client_snapshot(client: Client) -> dict[str, Any]:
    """The provisioned fields of a client, as plain values (moments stay datetimes)."""
    return {"id": client.id, **{field: getattr(client, field) for field in PROVISIONED_FIELDS}}
