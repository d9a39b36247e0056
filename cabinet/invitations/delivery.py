"""The delivery worker: claim due invitations, send them, record what happened.

Never lose a message: a claim is a lease (status «sending», `lease_until`, a `lease_token` of
its own). A worker killed mid-send leaves the lease to expire, and the next pass sends the
message again with the same Idempotency-Key, so the gateway keeps one copy. Several workers at
once are safe: PostgreSQL claims with FOR UPDATE SKIP LOCKED, SQLite writers are one at a time
(BEGIN IMMEDIATE).

Never send twice to a healthy gateway, however slow: while a claim's messages are sent, a
heartbeat renews their lease; a send starts only when the lease held outlasts the call's
deadline (`GATEWAY_DEADLINE_SECONDS`); the lease token fences outcomes (docs/invitations.md).
Each channel is a lane of its own (a thread in `run_until`), so a slow SMS gateway never holds
the e-mails.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import requests
from flask import Flask, current_app
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from cabinet import logs, metrics
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.invitations.gateway import HttpGateway, Outcome
from cabinet.invitations.models import Invitation, StopListEntry
from cabinet.invitations.rules import retry_delay, stored_forms
from cabinet.invitations.services import purge_contacts
from cabinet.invitations.settings import InvitationSettings
from cabinet.invitations.smtp import SmtpGateway

log = logging.getLogger("cabinet.delivery")

# How often `run_until` replaces the contacts whose time is up by their hash.
PURGE_EVERY_SECONDS = 3600.0


class Gateway(Protocol):
    def send(self, payload: dict[str, object], idempotency_key: str) -> Outcome: ...


@dataclass
class CircuitBreaker:
    """Stop calling a gateway that keeps failing; try one message again after a cool-down.

    That one message is a probe of the gateway, not an attempt of the message: a failed probe
    gives the attempt back, so an outage of any length delays messages and never uses up
    their attempts."""

    threshold: int
    cooldown: timedelta
    failures: int = 0
    opened_at: datetime | None = None

    def allows(self, now: datetime) -> bool:
        return self.opened_at is None or now - self.opened_at >= self.cooldown

    def probing(self) -> bool:
        """Open, with the cool-down over: the next send tests the gateway."""
        return self.opened_at is not None

    def succeeded(self) -> None:
        self.failures, self.opened_at = 0, None

    def failed(self, now: datetime) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self.opened_at = now


@dataclass(frozen=True)
class Claimed:
    id: int
    key: str
    channel: str
    payload: dict[str, object]
    attempts: int
    lease_token: str


@dataclass
class PassReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    given_back: int = 0  # claimed, not sent (a stop, a lease too short to finish a call)
    superseded: int = 0  # outcomes ignored: another worker had taken the message over
    paused_channels: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"взято: {self.claimed}, отправлено: {self.sent}, "
            f"повтор позже: {self.retried}, не доставлено: {self.failed}"
        )
        if self.given_back:
            text += f", возвращено в очередь: {self.given_back}"
        if self.superseded:
            text += f", уже у другого обработчика: {self.superseded}"
        if self.paused_channels:
            text += f"; шлюз недоступен, пауза: {', '.join(self.paused_channels)}"
        return text


def http_gateways(settings: InvitationSettings, session: requests.Session) -> dict[str, Gateway]:
    """The configured gateways, sharing one HTTP session (one per worker)."""
    gateways: dict[str, Gateway] = {}
    for channel, config in (("sms", settings.sms), ("email", settings.email)):
        if config.url:
            gateways[channel] = HttpGateway(
                config.url,
                config.token,
                session,
                settings.connect_timeout,
                settings.read_timeout,
                deadline=settings.deadline_seconds,
            )
    if settings.smtp_url:  # SMTP_URL wins over EMAIL_GATEWAY_URL
        gateways["email"] = SmtpGateway(
            settings.smtp_url,
            settings.mail_from,
            settings.connect_timeout,
            settings.read_timeout,
            settings.deadline_seconds,
        )
    return gateways


class Lease:
    """The lease of one claim, renewed by a heartbeat thread while its messages are sent.

    Every `min(lease / 3, (lease - deadline) / 2)` seconds the rows still carrying this
    claim's tokens get a fresh `lease_until`; a row whose token has changed was taken over by
    another worker (our lease ran out: a stalled process, an unreachable database) and is
    `lost`: it is not sent from here. `until` is the end of the lease as last renewed: a send
    starts only if it can finish before then."""

    def __init__(self, app: Flask, worker: Worker, items: list[Claimed], until: datetime) -> None:
        self.app = app
        self.worker = worker
        self.items = {item.id: item for item in items}
        self.until = until
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

    def holds(self, item: Claimed) -> bool:
        """Ours, and for long enough to finish one gateway call; when too little of the lease
        is left, renewed here first (in the caller's app context, outside any transaction)."""
        if self._holds(item):
            return True
        if item.id in self.lost or self._renewal_failed:
            return False
        self._renewal_failed = not self._try_renew()
        return self._holds(item)

    def _holds(self, item: Claimed) -> bool:
        deadline = timedelta(seconds=self.worker.settings.deadline_seconds)
        now = self.worker.context.clock.now()
        with self._lock:
            return item.id not in self.lost and self.until - now >= deadline

    def _beat(self) -> None:
        # Often enough that a call can always start: the lease left stays above the deadline.
        settings = self.worker.settings
        interval = min(
            settings.lease_seconds / 3, (settings.lease_seconds - settings.deadline_seconds) / 2
        )
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
            log.warning("Аренда приглашений не продлена: база данных недоступна.")
            return False
        return True

    def renew(self) -> None:
        with self._lock:
            held = [i for i in self.items if i not in self.lost]
        if not held:
            return
        with transaction():
            now = self.worker.context.clock.now()
            rows = db.session.execute(
                select(Invitation.id, Invitation.lease_token)
                .where(Invitation.id.in_(held))
                .with_for_update()
            ).all()
            mine = [i for i, token in rows if token == self.items[i].lease_token]
            until = now + timedelta(seconds=self.worker.settings.lease_seconds)
            if mine:
                db.session.execute(
                    update(Invitation).where(Invitation.id.in_(mine)).values(lease_until=until)
                )
        with self._lock:
            self.lost |= set(held) - set(mine)
            self.until = max(self.until, until)


class Worker:
    def __init__(
        self,
        context: Context,
        settings: InvitationSettings,
        gateways: Mapping[str, Gateway],
        rng: random.Random | None = None,
    ) -> None:
        self.context = context
        self.settings = settings
        self.gateways = dict(gateways)
        # Jitter, not security; seeded from the program's random source.
        self.rng = rng or random.Random(context.random_bytes(16))  # noqa: S311
        cooldown = timedelta(seconds=settings.breaker_cooldown_seconds)
        self.breakers = {
            channel: CircuitBreaker(settings.breaker_threshold, cooldown) for channel in gateways
        }

    def run_pass(
        self,
        batch: int = 20,
        channels: tuple[str, ...] | None = None,
        stop: threading.Event | None = None,
    ) -> PassReport:
        """Claim up to `batch` due invitations (of `channels`, by default every channel), try
        each once while a heartbeat renews the lease, then store every outcome in one
        transaction (one commit for the batch, not one per message: the commit is most of a
        message's cost to the database). A message not sent (`stop` set, the lease too short
        to finish a call, another worker holding it) is given back. A worker killed before
        storing the outcomes loses nothing: the leases run out and the messages go again under
        the same idempotency keys, which the gateway answers without sending twice."""
        report = PassReport()
        claimed, until = self._claim(batch, report, channels)
        report.claimed = len(claimed)
        tried: list[tuple[Claimed, Outcome | None, bool]] = []  # (message, outcome, paused)
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        with Lease(app, self, claimed, until) as lease:
            for item in claimed:
                if (stop is not None and stop.is_set()) or not lease.holds(item):
                    tried.append((item, None, False))
                    continue
                breaker = self.breakers[item.channel]
                if not breaker.allows(self.context.clock.now()):
                    tried.append((item, Outcome("retry", "шлюз временно недоступен"), True))
                    continue
                probe = breaker.probing()
                outcome = self._send(item)
                if outcome.verdict == "retry":
                    breaker.failed(self.context.clock.now())
                    if probe:  # the gateway is still down: the message keeps its attempt
                        tried.append((item, outcome, True))
                        continue
                else:
                    breaker.succeeded()
                tried.append((item, outcome, False))
        if tried:
            with transaction():
                for item, result, paused in tried:
                    self._record(item, result, report, paused)
        metrics.DELIVERY_PASSES.labels(result="work" if report.claimed else "idle").inc()
        return report

    def _send(self, item: Claimed) -> Outcome:
        """One message to its gateway, under a request id of its own (in the log lines and
        the gateway's X-Request-Id)."""
        with logs.bound(
            request_id=logs.new_request_id(), invitation_id=item.id, channel=item.channel
        ):
            outcome = self.gateways[item.channel].send(item.payload, item.key)
            log.info(
                "invitation %s: %s (%s)",
                item.id,
                outcome.verdict,
                outcome.detail,
                extra={"attempt": item.attempts},
            )
        return outcome

    def run_until(
        self,
        stop: threading.Event,
        idle_seconds: float = 1.0,
        batch: int = 20,
        on_pass: Callable[[PassReport], None] | None = None,
    ) -> None:
        """Pass after pass until `stop` is set, resting `idle_seconds` when nothing was due;
        `on_pass` hears of every pass that claimed something. Each channel is a lane, a thread
        with passes of its own: a gateway that answers slowly holds its own channel only.
        Once `stop` is set, each lane finishes the call in flight (within the deadline, so
        within the lease), gives back the rest of its claim and ends."""
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        failures: list[BaseException] = []

        def lane(channel: str) -> None:
            try:
                with app.app_context():
                    while not stop.is_set():
                        report = self.run_pass(batch, (channel,), stop)
                        if report.claimed == 0:
                            stop.wait(idle_seconds)
                        elif on_pass is not None:
                            on_pass(report)
            except BaseException as exc:  # noqa: BLE001 - raised again below
                failures.append(exc)
                stop.set()

        lanes = [
            threading.Thread(target=lane, args=(channel,), name=f"lane-{channel}")
            for channel in sorted(self.gateways)
        ]
        for thread in lanes:
            thread.start()
        next_purge = 0.0
        for thread in lanes:
            while thread.is_alive():  # short joins: the main thread stays free for signals
                thread.join(0.2)
                if time.monotonic() >= next_purge and not stop.is_set():
                    self.purge(app)  # invitees' contacts past their time (docs/privacy.md)
                    next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        if failures:
            raise failures[0]

    def purge(self, app: Flask) -> None:
        """Replace the contacts whose time is up by their hash; a database that does not
        answer is tried again at the next round."""
        with app.app_context():
            try:
                purged = purge_contacts(self.context, self.settings)
                if purged.invitations or purged.stop_list:
                    log.info("Приглашения: %s", purged)
            except SQLAlchemyError:
                log.warning("Контакты приглашенных не обезличены: база данных недоступна.")
            finally:
                db.session.remove()

    def _claim(
        self, batch: int, report: PassReport, channels: tuple[str, ...] | None = None
    ) -> tuple[list[Claimed], datetime]:
        with transaction():
            now = self.context.clock.now()
            lease = timedelta(seconds=self.settings.lease_seconds)
            mine = {c: b for c, b in self.breakers.items() if channels is None or c in channels}
            open_channels = [c for c, b in mine.items() if b.allows(now)]
            report.paused_channels = sorted(set(mine) - set(open_channels))
            if not open_channels:
                db.session.rollback()
                return [], now + lease
            rows = []
            for channel in open_channels:
                # A gateway being probed gets one message, not a batch held for nothing.
                size = 1 if self.breakers[channel].probing() else batch
                rows.extend(self._due(channel, now, size))
            claimed: list[Claimed] = []
            for row in rows:
                if row.attempts >= self.settings.backoff.max_attempts:
                    # Abandoned by workers that died on it as many times as we allow.
                    row.status, row.lease_until, row.lease_token = "failed", None, None
                    row.last_error = "превышено число попыток"
                    report.failed += 1
                    continue
                row.status = "sending"
                row.attempts += 1
                row.lease_token = self.context.new_key()
                row.lease_until = now + lease
                claimed.append(
                    Claimed(
                        row.id,
                        row.key,
                        row.channel,
                        json.loads(row.payload),
                        row.attempts,
                        row.lease_token,
                    )
                )
        return claimed, now + lease

    def _due(self, channel: str, now: datetime, size: int) -> list[Invitation]:
        return list(
            db.session.scalars(
                select(Invitation)
                .where(
                    Invitation.status.in_(("queued", "sending")),
                    Invitation.channel == channel,
                    Invitation.next_attempt_at <= now,
                    or_(Invitation.lease_until.is_(None), Invitation.lease_until <= now),
                )
                .order_by(Invitation.next_attempt_at, Invitation.id)
                .limit(size)
                .with_for_update(skip_locked=True)
            )
        )

    def _record(
        self, item: Claimed, outcome: Outcome | None, report: PassReport, paused: bool
    ) -> None:
        """Store the outcome (in the pass's transaction). `None`: not sent, the message goes
        back to the queue with its attempt. A message held back by an open circuit breaker, or
        sent as its probe while the gateway is still down, gets its attempt back too.

        Fencing: when the row no longer carries this claim's token, our lease ran out and
        another worker took the message over. A delivery is still the truth and is recorded
        while the message is not yet marked sent (the other worker then sees its token gone
        and does not send, or its own outcome is ignored); any other outcome of ours is
        ignored: the current holder decides."""
        row = db.session.scalars(
            select(Invitation).where(Invitation.id == item.id).with_for_update()
        ).first()
        if row is None:
            return
        now = self.context.clock.now()
        if row.lease_token != item.lease_token:
            if outcome is not None and outcome.verdict == "accepted" and row.status != "sent":
                row.status, row.sent_at, row.last_error = "sent", now, None
                row.lease_until, row.lease_token = None, None
                report.sent += 1
            else:
                report.superseded += 1
            return
        row.lease_until, row.lease_token = None, None
        if outcome is None:
            row.attempts -= 1
            row.status = "queued"
            report.given_back += 1
            return
        if paused:
            row.attempts -= 1
            row.status = "queued"
            if outcome.detail != "шлюз временно недоступен":
                row.last_error = outcome.detail[:300]
            row.next_attempt_at = now + timedelta(seconds=self.settings.breaker_cooldown_seconds)
            report.retried += 1
            return
        row.last_error = None if outcome.verdict == "accepted" else outcome.detail[:300]
        if outcome.verdict == "accepted":
            row.status, row.sent_at = "sent", now
            report.sent += 1
        elif outcome.verdict == "retry" and row.attempts < self.settings.backoff.max_attempts:
            delay = retry_delay(row.attempts, self.settings.backoff, self.rng, outcome.retry_after)
            row.status, row.next_attempt_at = "queued", now + timedelta(seconds=delay)
            report.retried += 1
        else:
            row.status = "failed"
            report.failed += 1
            if outcome.hard_bounce:  # the address does not exist: never again
                _stop_listed(row.recipient, now, "bounce", self.settings.contact_hash_key)


def _stop_listed(recipient: str, now: datetime, source: str, key: bytes) -> None:
    """Put a recipient on the stop list in the current transaction (once, raw or hashed)."""
    forms = stored_forms(key, recipient)
    if not db.session.scalar(select(exists().where(StopListEntry.recipient.in_(forms)))):
        db.session.add(StopListEntry(recipient=recipient, added_at=now, source=source))
