"""Issuing, listing, revoking and checking API tokens.

A token is `cab_` + 43 URL-safe characters (32 random bytes from the program's secure source).
It is shown once, when issued; the database keeps its SHA-256. A presented token is hashed and
looked up by that hash, so the comparison never touches the secret itself.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from cabinet.api.models import ApiToken
from cabinet.clock import Program
from cabinet.db import db, read, transaction
from cabinet.errors import ProgramRefusal

TOKEN_PREFIX = "cab_"  # noqa: S105 - a marker, not a secret
TOKEN_BYTES = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TOKEN = re.compile(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}")


class TokenRefusal(ProgramRefusal):
    pass


class TokenNameInvalid(TokenRefusal):
    message = (
        "Имя токена — от 1 до 64 символов: латинские буквы, цифры, точка, дефис и подчеркивание "
        "(например, billing)."
    )


class TokenNameTaken(TokenRefusal):
    def __init__(self, name: str) -> None:
        super().__init__(
            f"Токен с именем «{name}» уже есть (имена не используются повторно, даже после "
            f"отзыва). Выберите другое имя, например «{name}-2»."
        )


class TokenNotFound(TokenRefusal):
    def __init__(self, name: str) -> None:
        super().__init__(f"Токена с именем «{name}» нет.")


@dataclass(frozen=True)
class IssuedToken:
    name: str
    token: str  # the only time the secret exists outside the caller's system


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(program: Program, name: str) -> IssuedToken:
    if not _NAME.fullmatch(name):
        raise TokenNameInvalid()
    secret = base64.urlsafe_b64encode(program.random_bytes(TOKEN_BYTES)).rstrip(b"=").decode()
    token = TOKEN_PREFIX + secret
    try:
        with transaction():
            if db.session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
                raise TokenNameTaken(name)
            db.session.add(
                ApiToken(name=name, token_hash=hash_token(token), created_at=program.clock.now())
            )
    except IntegrityError as exc:  # the same name issued at the same moment elsewhere
        raise TokenNameTaken(name) from exc
    return IssuedToken(name, token)


def revoke(program: Program, name: str) -> tuple[ApiToken, bool]:
    """Revoke the token called `name`; the flag says whether it was still active."""
    with transaction():
        token = db.session.scalars(
            select(ApiToken).where(ApiToken.name == name).with_for_update()
        ).first()
        if token is None:
            raise TokenNotFound(name)
        was_active = token.active
        if was_active:
            token.revoked_at = program.clock.now()
    return token, was_active


def listing() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)))


def authenticate(presented: str) -> int | None:
    """The id of the active token matching `presented`, or None (one indexed lookup of one
    column: it runs before every API call)."""
    if not _TOKEN.fullmatch(presented):
        return None
    found: int | None = read(_active_token(), {"token_hash": hash_token(presented)}).scalar()
    return found


@cache
def _active_token() -> Select[tuple[int]]:
    return (
        select(ApiToken.id)
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
        .limit(1)
    )
