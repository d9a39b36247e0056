"""One row per event; the id is the feed's cursor: gapless and in commit order (see record())."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, get_args

from sqlalchemy import JSON, CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.db import UTCDateTime, db

EventKind = Literal[
    "client_created",
    "client_updated",
    "client_joined",
    "referral_activated",
    "grant_issued",
    "grant_closed",
    "sms_pack_granted",
    # a manager revoked a fraudulent referral (cabinet/referrals/revocation.py)
    "referral_revoked",
    "grant_revoked",
    "sms_pack_revoked",
    # billing reported a payment / the closure of a client's contract (docs/api.md); a waiting
    # referral started counting on the ladder; a referee's early closure took a reward back
    # (docs/rules.md, «Награда после первой оплаты»)
    "payment_received",
    "client_closed",
    "referral_qualified",
    "reward_clawed_back",
]
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


class Event(db.Model):  # type: ignore[name-defined,misc]
    """Something that happened to a client, written in the transaction that made it happen.

    No foreign key to `clients`: an event is a record of the past, and the key check would
    take a lock on the client's row after the event lock (see `cabinet/events/services.py`)."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint(
            "kind IN (" + ", ".join(f"'{kind}'" for kind in EVENT_KINDS) + ")", name="kind_known"
        ),
        CheckConstraint("id > 0", name="id_positive"),
    )

    # Assigned by record(): max(id) + 1 while holding the event lock, never by the database.
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[int]
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
