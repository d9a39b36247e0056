"""What the metrics count that no single view sees: committed facts and the database.

- Applied codes and the invitations' states are counted when their transaction commits, from
  the rows the session flushed (a referral row inserted; an invitation inserted, or its status
  changed to «sending», «sent» or «failed»), so every path that writes them (the cabinet, the
  manager's panel, the API, the worker, the CLI) counts, a rolled-back change never does, and
  the counters match the database.
- The outbox's depth and oldest age are read at scrape time (`OutboxCollector`).
- The database pool's connections in use follow the pool's checkout and checkin events.
"""

from __future__ import annotations

import atexit
import logging
import os
from collections.abc import Iterator
from typing import Any

from flask import Flask
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, func, inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from cabinet import metrics
from cabinet.clock import current_context
from cabinet.db import db
from cabinet.extensions import StorageFallbacks
from cabinet.invitations.models import Invitation
from cabinet.referrals.models import Referral

log = logging.getLogger("cabinet.observability")

_PENDING = "cabinet_metrics_pending"
# An invitation's status → the event its change to that status is.
_STATUS_EVENTS = {"sending": "sent", "sent": "delivered", "failed": "failed"}
OUTBOX_STATUSES = ("queued", "sending")

_session_hooks = False


def init_app(app: Flask) -> None:
    """Hooks on every session (once per process) and on this app's engine."""
    global _session_hooks
    if not _session_hooks:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
        # In the multiprocess mode a process that ends stops counting in the live gauges
        # (gunicorn's workers are marked by the master too; this covers the delivery worker).
        atexit.register(metrics.process_exited, os.getpid())
        StorageFallbacks.listeners.append(metrics.LIMITS_STORAGE_FALLBACKS.inc)
        _session_hooks = True
    with app.app_context():
        _watch_pool(db.engine)


def _after_flush(session: Session, _context: Any) -> None:
    pending: list[tuple[str, Any]] = session.info.setdefault(_PENDING, [])
    for row in session.new:
        if isinstance(row, Referral):
            pending.append(("applied", row.id))
        elif isinstance(row, Invitation):
            pending.append(("queued", (row.id, row.channel)))
    for row in session.dirty:
        if isinstance(row, Invitation):
            added: Any = inspect(row).attrs.status.history.added
            if added and added[-1] in _STATUS_EVENTS:
                pending.append((_STATUS_EVENTS[added[-1]], (row.id, row.channel)))


def _after_commit(session: Session) -> None:
    for kind, what in session.info.pop(_PENDING, ()):
        if kind == "applied":
            metrics.CODES_APPLIED.inc()
            log.info("referral code applied", extra={"referral_id": what})
            continue
        invitation_id, channel = what
        metrics.INVITATIONS.labels(channel=channel, event=kind).inc()
        if kind == "queued":
            log.info(
                "invitation queued", extra={"invitation_id": invitation_id, "channel": channel}
            )


def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _watch_pool(engine: Any) -> None:
    size = getattr(engine.pool, "size", None)
    metrics.DB_POOL_SIZE.set(size() if callable(size) else 0)

    @event.listens_for(engine, "checkout")
    def _checked_out(*_args: Any) -> None:
        metrics.DB_POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _checked_in(*_args: Any) -> None:
        metrics.DB_POOL_CHECKED_OUT.dec()


class OutboxCollector(Collector):
    """The outbox at scrape time: messages waiting per status and the age of the oldest.

    One statement on the `(status, next_attempt_at)` index: the rows it reads are only the
    waiting ones (sent and failed messages, the table's bulk, are never touched)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            rows = db.session.execute(
                select(Invitation.status, func.count(), func.min(Invitation.created_at))
                .where(Invitation.status.in_(OUTBOX_STATUSES))
                .group_by(Invitation.status)
            ).all()
        except SQLAlchemyError as error:
            db.session.rollback()
            log.warning("outbox not measured: %s", type(error).__name__)
            return
        depth = GaugeMetricFamily(
            "cabinet_outbox_depth",
            "Invitations waiting in the outbox, by status (queued, sending).",
            labels=["status"],
        )
        counts = {status: 0 for status in OUTBOX_STATUSES}
        oldest = None
        for status, count, created_at in rows:
            counts[status] = count
            if created_at is not None and (oldest is None or created_at < oldest):
                oldest = created_at
        for status, count in counts.items():
            depth.add_metric([status], count)
        yield depth
        now = current_context().clock.now()
        age = 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
        yield GaugeMetricFamily(
            "cabinet_outbox_oldest_age_seconds",
            "Age of the oldest invitation still waiting in the outbox (0 when it is empty).",
            value=age,
        )
