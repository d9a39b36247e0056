"""Finding a client by ID, name, code, e-mail or phone."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from cabinet.clients.models import Client
from cabinet.db import db
from cabinet.inputs import bounded_int
from cabinet.referrals.models import Member
from cabinet.referrals.rules import normalise_code

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
    text = query.strip()[:200]
    if not text:
        return []
    conditions = [
        func.lower(Client.name).contains(text.lower(), autoescape=True),
        func.lower(Client.email).contains(text.lower(), autoescape=True),
    ]
    client_id = bounded_int(text)  # a number beyond the id column names no client
    if client_id is not None:
        conditions.append(Client.id == client_id)
    code = normalise_code(text)
    if code:
        conditions.append(Member.code == code)
    digits = re.sub(r"\D", "", text)
    if len(digits) >= 5:
        conditions.append(
            func.replace(
                func.replace(func.replace(func.replace(Client.phone, " ", ""), "-", ""), "(", ""),
                ")",
                "",
            ).contains(digits[-10:])
        )
    rows = db.session.execute(
        select(Client.id, Client.name, Client.email, Client.phone, Client.status, Member.code)
        .outerjoin(Member, Member.client_id == Client.id)
        .where(or_(*conditions))
        .order_by(Client.id)
        .limit(MAX_RESULTS)
    )
    return [Found(*row) for row in rows]
