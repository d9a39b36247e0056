"""Rows for tests, made through the same services the product uses."""

from __future__ import annotations

from datetime import datetime

from cabinet.clients.services import NewClient, create_client
from cabinet.clock import Program
from cabinet.referrals import services
from tests.conftest import msk


def make_client(
    client_id: int,
    name: str | None = None,
    *,
    registered_at: datetime | None = None,
    promo_until: datetime | None = None,
    email: str | None = None,
    phone: str | None = None,
    password: str | None = None,
    status: str = "active",
) -> int:
    create_client(
        NewClient(
            id=client_id,
            name=name or f"Клиент {client_id}",
            registered_at=registered_at or msk("2023-03-20 09:00"),
            promo_until=promo_until,
            email=email,
            phone=phone,
            password=password,
            status=status,
        )
    )
    return client_id


def make_member(program: Program, client_id: int, at: datetime, **client: object) -> str:
    """A client that joined without a code at `at`; returns its personal code."""
    make_client(client_id, **client)  # type: ignore[arg-type]
    return services.join(program.at(at), client_id).code
