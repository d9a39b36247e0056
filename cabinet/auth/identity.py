"""Whom an identity provider's verified ID token names (OpenID Connect sign-in).

A client by a claim that carries its client ID (`OIDC_CLIENT_ID_CLAIM`); a manager by a role
claim and its e-mail, matched to an existing Manager row whose own flags keep deciding its
rights. The token has been verified before these are called (cabinet/web/oidc.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from cabinet import addresses
from cabinet.auth.errors import AccountClosed, NoClientForAccount, NotAManager, UnknownManager
from cabinet.auth.models import Manager
from cabinet.clients.models import Client
from cabinet.db import db

MAX_CLIENT_ID = 2**63 - 1


def client_named(claims: Mapping[str, Any], claim: str) -> Client:
    """The active client whose ID the claim holds; an unknown or closed client is refused."""
    value = claims.get(claim)
    text = "" if isinstance(value, bool) or not isinstance(value, int | str) else str(value)
    if not text.isdigit() or int(text) > MAX_CLIENT_ID:
        raise NoClientForAccount()
    client = db.session.get(Client, int(text))
    if client is None:
        raise NoClientForAccount()
    if not client.active:
        raise AccountClosed()
    return client


def manager_named(
    claims: Mapping[str, Any], *, role_claim: str, role: str, email_claim: str
) -> Manager:
    """A manager: the role among the role claim's values, and a Manager row with its e-mail
    (a verified one, where the provider says whether it is)."""
    roles = claims.get(role_claim)
    values = roles if isinstance(roles, list) else str(roles or "").split()
    if role not in values:
        raise NotAManager()
    email = claims.get(email_claim)
    if not isinstance(email, str) or claims.get("email_verified") is False:
        raise NotAManager()
    try:
        address = addresses.normalise_email(email)
    except addresses.BadEmail as exc:
        raise NotAManager() from exc
    manager = db.session.scalar(select(Manager).where(Manager.email == address))
    if manager is None:
        raise UnknownManager(address)
    return manager
