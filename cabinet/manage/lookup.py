"""Finding a client by ID, name, code, e-mail or phone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, or_, select

from cabinet.addresses import phone_e164
from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.inputs import bounded_int
from cabinet.referrals.models import Member
from cabinet.referrals.rules import is_code, normalise_code

MAX_RESULTS = 50


@dataclass(frozen=True)
class Found:
    id: int
    name: str
    email: str | None
    phone: str | None
    status: str
    code: str | None


def find_clients(query: str) -> list[Found]:
    """Exact matches first, each through an index (ID, code, e-mail, phone); only when none
    matches, a search for the text inside names, e-mails and phones, which reads the whole
    clients table (fine for a person typing a name; never on a client's page)."""
    text = query.strip()[:200]
    if not text:
        return []
    exact = _exact(text)
    if exact is not None:
        rows = _found(exact)
        if rows:
            return rows
    return _found(_containing(text))


def _exact(text: str) -> ColumnElement[bool] | None:
    ids: list[int] = []
    client_id = bounded_int(text)  # a number beyond the id column names no client
    if client_id is not None:
        ids.append(client_id)
    code = normalise_code(text)
    if is_code(code):
        owner = db.session.scalar(select(Member.client_id).where(Member.code == code))
        if owner is not None:
            ids.append(owner)
    conditions: list[ColumnElement[bool]] = []
    if ids:
        conditions.append(Client.id.in_(ids))
    if "@" in text:
        conditions.append(Client.email == text.lower())
    phone = phone_e164(text)
    if phone is not None:
        conditions.append(Client.phone_e164 == phone)
    return or_(*conditions) if conditions else None


def _containing(text: str) -> ColumnElement[bool]:
    conditions = [
        func.lower(Client.name).contains(text.lower(), autoescape=True),
        func.lower(Client.email).contains(text.lower(), autoescape=True),
    ]
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 5:
        conditions.append(
            func.replace(
                func.replace(func.replace(func.replace(Client.phone, " ", ""), "-", ""), "(", ""),
                ")",
                "",
            ).contains(digits[-10:])
        )
    return or_(*conditions)


def _found(condition: ColumnElement[bool]) -> list[Found]:
    rows = db.session.execute(
        select(Client.id, Client.name, Client.email, Client.phone, Client.status, Member.code)
        .outerjoin(Member, Member.client_id == Client.id)
        .where(condition)
        .order_by(Client.id)
        .limit(MAX_RESULTS)
    )
    return [Found(*row) for row in rows]
