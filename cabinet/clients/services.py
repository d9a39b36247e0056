"""Creating clients (support staff through the CLI, the demo seed, and later provisioning)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from cabinet.clients.models import CLIENT_STATUSES, Client
from cabinet.db import begin_write, db
from cabinet.referrals import errors


class InvalidClient(errors.ProgramRefusal):
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
    """A syntactically valid address (no network look-up), as stored and compared."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise InvalidClient(f"Некорректный адрес электронной почты: {raw.strip()}") from exc


def create_client(new: NewClient) -> Client:
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
    begin_write()
    try:
        if db.session.get(Client, new.id) is not None:
            raise errors.ClientExists(new.id)
        if email is not None and db.session.scalar(select(Client.id).where(Client.email == email)):
            raise errors.EmailTaken(email)
        client = Client(
            id=new.id,
            name=name,
            registered_at=new.registered_at,
            promo_until=new.promo_until,
            email=email,
            phone=None if new.phone is None else new.phone.strip(),
            password_hash=None if new.password is None else generate_password_hash(new.password),
            status=new.status,
        )
        db.session.add(client)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return client
