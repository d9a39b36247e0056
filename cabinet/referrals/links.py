"""The personal link /r/<code>: who a code belongs to, as far as a stranger may know."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, select

from cabinet.clients.models import Client
from cabinet.db import read
from cabinet.referrals import errors, rules
from cabinet.referrals.models import Member


def inviter_name(raw_code: str) -> str | None:
    """The company name of the active member whose code this is; None for anything else (a
    malformed code, an unknown one, a closed client's): one indexed statement, or none."""
    try:
        code = rules.parse_code(raw_code)
    except errors.CodeMalformed:
        return None
    name: str | None = read(_inviter(), {"code": code}).scalar()
    return name


@cache
def _inviter() -> Select[Any]:
    return (
        select(Client.name)
        .join(Member, Member.client_id == Client.id)
        .where(Member.code == bindparam("code"), Client.status == "active")
    )
