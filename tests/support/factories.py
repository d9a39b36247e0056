"""Rows for tests, made through the same services the product uses (an outbox row, which only
the product's worker and services write, as the worker would find it)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cabinet.clients.services import NewClient, create_client
from cabinet.clock import Context
from cabinet.invitations.models import Invitation
from cabinet.referrals import services
from tests.support.moments import msk


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


def make_member(context: Context, client_id: int, at: datetime, **client: object) -> str:
    """A client that joined without a code at `at`; returns its personal code."""
    make_client(client_id, **client)  # type: ignore[arg-type]
    return services.join(context.at(at), client_id).code


@dataclass(frozen=True)
class Referee:
    id: int
    name: str
    applies_at: str  # Moscow wall clock, for msk()


# The help page's worked example: three clients (registered 20.03.2023) apply one referrer's
# code on 31.03.2023; the referrer climbs to 20%, 40%, 60% and gets a 1200 SMS pack.
WORKED_EXAMPLE = (
    Referee(408, "ТехКомплект", "2023-03-31 10:03"),
    Referee(401, "СтройКомплект", "2023-03-31 10:30"),
    Referee(407, "ТехСтрой", "2023-03-31 15:18"),
)
REFERRER_JOINS_AT = "2023-03-01 09:00"
REFEREES_REGISTERED_AT = "2023-03-20 09:00"


def refer_worked_example(
    context: Context, code: str, referees: int = 3, *, emails: bool = False
) -> None:
    """The first `referees` of the worked example apply `code`, each at its moment
    (`emails`: each with the address `<id>@example.ru`)."""
    for referee in WORKED_EXAMPLE[:referees]:
        make_client(
            referee.id,
            referee.name,
            registered_at=msk(REFEREES_REGISTERED_AT),
            email=f"{referee.id}@example.ru" if emails else None,
        )
        services.join(context.at(msk(referee.applies_at)), referee.id, code)


def seed_worked_example(
    context: Context,
    referrer_id: int = 400,
    name: str = "АльфаТелеком",
    *,
    referees: int = 3,
    emails: bool = False,
    **referrer: object,
) -> str:
    """The worked example: the referrer joins on 01.03.2023 at 09:00 (`referrer`: more of its
    client fields), then its referees apply its code. Returns the referrer's code."""
    code = make_member(context, referrer_id, msk(REFERRER_JOINS_AT), name=name, **referrer)
    refer_worked_example(context, code, referees, emails=emails)
    return code


def invitation(
    member_id: int,
    recipient: str,
    at: datetime,
    *,
    channel: str = "sms",
    status: str = "queued",
    attempts: int | None = None,
    key: str | None = None,
    payload: dict[str, Any] | None = None,
    sent_at: datetime | None = None,
) -> Invitation:
    """An invitation in the outbox, made at `at` and due then (not yet added to the session).
    `attempts`: 1 once it left the queue (sent or failed), else 0; `payload`: the gateway's
    body, `{}` unless given."""
    if attempts is None:
        attempts = 0 if status == "queued" else 1
    return Invitation(
        key=key or str(uuid.uuid4()),
        member_id=member_id,
        channel=channel,
        recipient=recipient,
        payload=json.dumps(payload or {}, ensure_ascii=False),
        status=status,
        attempts=attempts,
        created_at=at,
        next_attempt_at=at,
        sent_at=sent_at,
    )
