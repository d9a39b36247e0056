"""Subscribers and the webhooks' outbox: one delivery per event per subscriber, kept as its log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from cabinet.db import UTCDateTime, db, sql_values
from cabinet.webhooks.rules import MAX_URL

STATUSES: tuple[str, ...] = ("queued", "sending", "delivered", "failed")


class Subscriber(db.Model):  # type: ignore[name-defined,misc]
    """A URL that receives every event of the feed, signed with its own secret.

    `after` is the id of the last event put in its outbox: the feed's ids are gapless and in
    commit order (cabinet/events/services.py), so nothing is skipped by moving it forward.
    A removed subscriber keeps its row and its log (`removed_at`) and receives nothing more;
    its id is never reused, so its message ids stay its own."""

    __tablename__ = "webhook_subscribers"
    __table_args__ = (
        CheckConstraint("after >= 0", name="after_non_negative"),
        {"sqlite_autoincrement": True},  # ids never reused: they are in the `webhook-id`s
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(MAX_URL))
    # `whsec_` + base64 of 32 random bytes: the signing key, shared with the receiver; it is
    # needed to sign, so it is stored as it is (docs/webhooks.md, «Секрет»).
    secret: Mapped[str] = mapped_column(String(60))
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    after: Mapped[int] = mapped_column(default=0)


class Delivery(db.Model):  # type: ignore[name-defined,misc]
    """One event to one subscriber: its `webhook-id` (`rules.message_id`) is the same on every
    attempt and replay; status, attempts, the last answer and the next try are its log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "event_id"),  # one delivery per event
        CheckConstraint(f"status IN ({sql_values(STATUSES)})", name="status_known"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The worker's claim: due deliveries in order.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscribers.id"))
    event_id: Mapped[int]  # no foreign key: as the events themselves, a record of the past
    status: Mapped[str] = mapped_column(String(9), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_token: Mapped[str | None] = mapped_column(String(36))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replays: Mapped[int] = mapped_column(default=0)
