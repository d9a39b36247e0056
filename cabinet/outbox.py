"""What every outbox worker shares (invitations, webhooks): retry timing and the claim's lease.

An outbox row is claimed under a lease: status «sending», `lease_until`, a `lease_token` of
its own. A worker killed mid-send leaves the lease to expire and the next pass sends again (the
receiver deduplicates on the row's stable key). While a claim's rows are sent, a heartbeat
renews their lease; a send starts only when the lease held outlasts the call's deadline; the
lease token fences outcomes (docs/invitations.md, «Никогда не терять и не слать дважды»).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from cabinet.clock import Clock
from cabinet.db import db, transaction

log = logging.getLogger("cabinet.outbox")


class Claim(Protocol):
    """One claimed row: its id and the token of this claim."""

    @property
    def id(self) -> int: ...

    @property
    def lease_token(self) -> str: ...


class Lease:
    """The lease of one claim, renewed by a heartbeat thread while its rows are sent.

    Every `min(lease / 3, (lease - deadline) / 2)` seconds the rows still carrying this
    claim's tokens get a fresh `lease_until`; a row whose token has changed was taken over by
    another worker (our lease ran out: a stalled process, an unreachable database) and is
    `lost`: it is not sent from here. `until` is the end of the lease as last renewed: a send
    starts only if it can finish before then.

    `model` is the outbox's mapped class: it has `id`, `lease_token` and `lease_until`."""

    def __init__(
        self,
        app: Flask,
        model: Any,
        items: Sequence[Claim],
        until: datetime,
        clock: Clock,
        lease_seconds: float,
        deadline_seconds: float,
        what: str = "сообщений",
    ) -> None:
        self.app = app
        self.model = model
        self.items = {item.id: item for item in items}
        self.until = until
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.deadline_seconds = deadline_seconds
        self.what = what
        self.lost: set[int] = set()
        self._renewal_failed = False
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> Lease:
        if self.items:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join()

    def holds(self, item: Claim) -> bool:
        """Ours, and for long enough to finish one call; when too little of the lease is
        left, renewed here first (in the caller's app context, outside any transaction)."""
        if self._holds(item):
            return True
        if item.id in self.lost or self._renewal_failed:
            return False
        self._renewal_failed = not self._try_renew()
        return self._holds(item)

    def _holds(self, item: Claim) -> bool:
        deadline = timedelta(seconds=self.deadline_seconds)
        now = self.clock.now()
        with self._lock:
            return item.id not in self.lost and self.until - now >= deadline

    def _beat(self) -> None:
        # Often enough that a call can always start: the lease left stays above the deadline.
        interval = min(self.lease_seconds / 3, (self.lease_seconds - self.deadline_seconds) / 2)
        while not self._done.wait(interval):
            with self.app.app_context():
                try:
                    self._try_renew()
                finally:
                    db.session.remove()

    def _try_renew(self) -> bool:
        try:
            self.renew()
        except SQLAlchemyError:
            log.warning("Аренда %s не продлена: база данных недоступна.", self.what)
            return False
        return True

    def renew(self) -> None:
        with self._lock:
            held = [i for i in self.items if i not in self.lost]
        if not held:
            return
        model = self.model
        with transaction():
            now = self.clock.now()
            rows = db.session.execute(
                select(model.id, model.lease_token).where(model.id.in_(held)).with_for_update()
            ).all()
            mine = [i for i, token in rows if token == self.items[i].lease_token]
            until = now + timedelta(seconds=self.lease_seconds)
            if mine:
                db.session.execute(
                    update(model).where(model.id.in_(mine)).values(lease_until=until)
                )
        with self._lock:
            self.lost |= set(held) - set(mine)
            self.until = max(self.until, until)
