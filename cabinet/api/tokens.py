"""Issuing, listing, revoking and checking API tokens.

A token is `cab_` + 43 URL-safe characters (32 random bytes from the program's secure source).
It is shown once, when issued; the database keeps its SHA-256. A presented token is hashed and
looked up by that hash, so the comparison never touches the secret itself.

A token carries scopes, each opening some endpoints (`REQUIRED_SCOPE`): the billing system's
token need not be able to close a client. Tokens issued before scopes existed were given every
scope by migration 0012 and are marked `legacy_scopes`: `flask api-tokens list` warns about them.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from cabinet.api.models import ApiToken
from cabinet.clock import Context
from cabinet.db import db, read, transaction
from cabinet.errors import ProgramRefusal
from cabinet.stamps import PROGRAM, MemberStamp

TOKEN_PREFIX = "cab_"  # noqa: S105 - a marker, not a secret
TOKEN_BYTES = 32
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_TOKEN = re.compile(rf"{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}")

Scope = str
SCOPES: tuple[Scope, ...] = ("read", "billing", "provisioning")
SCOPE_TITLES: dict[Scope, str] = {
    "read": "чтение (read)",
    "billing": "биллинг (billing)",
    "provisioning": "подключение клиентов (provisioning)",
}
SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    "read": "условия программы, клиент, лента событий",
    "billing": "скидка клиента и предпросмотр счета",
    "provisioning": "создание, изменение и закрытие клиентов",
}
# Which scope each endpoint of the blueprint wants: the one source for the check and OpenAPI.
REQUIRED_SCOPE: dict[str, Scope] = {
    "api.program_terms": "read",
    "api.get_client": "read",
    "api.events": "read",
    "api.discount": "billing",
    "api.invoice": "billing",
    "api.record_payment": "billing",
    "api.close_contract": "billing",
    "api.put_client": "provisioning",
}


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


class ScopesMissing(TokenRefusal):
    message = (
        "Укажите права токена: --scope read, billing или provisioning (можно несколько раз, "
        "например --scope read --scope billing)."
    )


class ScopeUnknown(TokenRefusal):
    def __init__(self, scope: str) -> None:
        super().__init__(f"Нет права «{scope}»: есть только read, billing и provisioning.")


class TokenNotFound(TokenRefusal):
    def __init__(self, name: str) -> None:
        super().__init__(f"Токена с именем «{name}» нет.")


@dataclass(frozen=True)
class IssuedToken:
    name: str
    token: str  # the only time the secret exists outside the caller's system
    scopes: tuple[Scope, ...] = SCOPES


@dataclass(frozen=True)
class Caller:
    """The token a request was authenticated with."""

    name: str
    scopes: frozenset[Scope]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def scopes_of(stored: str) -> tuple[Scope, ...]:
    """The stored scopes (space-separated, as OAuth writes them), in the order of SCOPES."""
    chosen = set(stored.split())
    return tuple(scope for scope in SCOPES if scope in chosen)


def checked_scopes(scopes: Iterable[str]) -> tuple[Scope, ...]:
    chosen = set(scopes)
    for scope in sorted(chosen - set(SCOPES)):
        raise ScopeUnknown(scope)
    if not chosen:
        raise ScopesMissing()
    return tuple(scope for scope in SCOPES if scope in chosen)


def issue(context: Context, name: str, scopes: Iterable[str] = SCOPES) -> IssuedToken:
    """A new token called `name` with `scopes` (every scope unless told: the CLI always asks)."""
    if not _NAME.fullmatch(name):
        raise TokenNameInvalid()
    granted = checked_scopes(scopes)
    secret = base64.urlsafe_b64encode(context.random_bytes(TOKEN_BYTES)).rstrip(b"=").decode()
    token = TOKEN_PREFIX + secret
    try:
        with transaction():
            if db.session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
                raise TokenNameTaken(name)
            db.session.add(
                ApiToken(
                    name=name,
                    token_hash=hash_token(token),
                    created_at=context.clock.now(),
                    scopes=" ".join(granted),
                    legacy_scopes=False,
                )
            )
    except IntegrityError as exc:  # the same name issued at the same moment elsewhere
        raise TokenNameTaken(name) from exc
    return IssuedToken(name, token, granted)


def revoke(context: Context, name: str) -> tuple[ApiToken, bool]:
    """Revoke the token called `name`; the flag says whether it was still active."""
    with transaction():
        token = db.session.scalars(
            select(ApiToken).where(ApiToken.name == name).with_for_update()
        ).first()
        if token is None:
            raise TokenNotFound(name)
        was_active = token.active
        if was_active:
            token.revoked_at = context.clock.now()
    return token, was_active


def listing() -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id)))


def authenticate(presented: str) -> Caller | None:
    """The active token matching `presented` (its name and scopes), or None (one indexed
    lookup: it runs before every API call)."""
    token_hash = presented_hash(presented)
    if token_hash is None:
        return None
    found = read(_active_token(), {"token_hash": token_hash}).first()
    if found is None:
        return None
    return Caller(found.name, frozenset(scopes_of(found.scopes)))


def bearer(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None without one."""
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def presented_hash(presented: str) -> str | None:
    """The hash a presented token is looked up by; None for what is no token's shape."""
    return hash_token(presented) if _TOKEN.fullmatch(presented) else None


@cache
def scopes_and_stamps() -> Select[Any]:
    """The scopes of the active token with `:token_hash`, with the change stamps of client
    `:client_id` and of the program: a repeated discount read in one statement (the revisit
    gate, cabinet/revisits)."""
    own = select(MemberStamp.stamp).where(
        MemberStamp.client_id == bindparam("client_id", type_=Integer())
    )
    everyone = select(MemberStamp.stamp).where(MemberStamp.client_id == PROGRAM)
    return (
        select(ApiToken.scopes, own.scalar_subquery(), everyone.scalar_subquery())
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
        .limit(1)
    )


@cache
def _active_token() -> Select[tuple[str, str]]:
    return (
        select(ApiToken.name, ApiToken.scopes)
        .where(ApiToken.token_hash == bindparam("token_hash"), ApiToken.revoked_at.is_(None))
        .limit(1)
    )
