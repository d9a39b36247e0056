"""The delivery worker: claim due invitations, send them, record what happened.

Never lose a message: a claim is a lease (status «sending», `lease_until`). A worker killed
mid-send leaves the lease to expire, and the next pass sends the message again with the same
Idempotency-Key, so the gateway keeps one copy. Several workers at once are safe: PostgreSQL
claims with FOR UPDATE SKIP LOCKED, SQLite writers are one at a time (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import requests
from sqlalchemy import or_, select

from cabinet import logs, metrics
from cabinet.clock import Program
from cabinet.db import db, transaction
from cabinet.invitations.gateway import HttpGateway, Outcome
from cabinet.invitations.models import Invitation
from cabinet.invitations.rules import retry_delay
from cabinet.invitations.settings import InvitationSettings

log = logging.getLogger("cabinet.delivery")


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
    paused_channels: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"взято: {self.claimed}, отправлено: {self.sent}, "
            f"повтор позже: {self.retried}, не доставлено: {self.failed}"
        )
        if self.paused_channels:
            text += f"; шлюз недоступен, пауза: {', '.join(self.paused_channels)}"
        return text


def http_gateways(settings: InvitationSettings, session: requests.Session) -> dict[str, Gateway]:
    """The configured gateways, sharing one HTTP session (one per worker)."""
    gateways: dict[str, Gateway] = {}
    for channel, config in (("sms", settings.sms), ("email", settings.email)):
        if config.url:
            gateways[channel] = HttpGateway(
                config.url, config.token, session, settings.connect_timeout, settings.read_timeout
            )
    return gateways


class Worker:
    def __init__(
        self,
        program: Program,
        settings: InvitationSettings,
        gateways: Mapping[str, Gateway],
        rng: random.Random | None = None,
    ) -> None:
        self.program = program
        self.settings = settings
        self.gateways = dict(gateways)
        # Jitter, not security; seeded from the program's random source.
        self.rng = rng or random.Random(program.random_bytes(16))  # noqa: S311
        cooldown = timedelta(seconds=settings.breaker_cooldown_seconds)
        self.breakers = {
            channel: CircuitBreaker(settings.breaker_threshold, cooldown) for channel in gateways
        }

    def run_pass(self, batch: int = 20) -> PassReport:
        """Claim up to `batch` due invitations, try each once, then store every outcome in one
        transaction (one commit for the batch, not one per message: the commit is most of a
        message's cost to the database). A worker killed before storing them loses nothing:
        the leases run out and the messages go again under the same idempotency keys, which
        the gateway answers without sending twice."""
        report = PassReport()
        claimed = self._claim(batch, report)
        report.claimed = len(claimed)
        tried: list[tuple[Claimed, Outcome, bool]] = []  # (message, outcome, paused)
        for item in claimed:
            breaker = self.breakers[item.channel]
            if not breaker.allows(self.program.clock.now()):
                tried.append((item, Outcome("retry", "шлюз временно недоступен"), True))
                continue
            probe = breaker.probing()
            outcome = self._send(item)
            if outcome.verdict == "retry":
                breaker.failed(self.program.clock.now())
                if probe:  # the gateway is still down: the message keeps its attempt
                    tried.append((item, outcome, True))
                    continue
            else:
                breaker.succeeded()
            tried.append((item, outcome, False))
        if tried:
            with transaction():
                for item, outcome, paused in tried:
                    self._record(item, outcome, report, paused)
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
        `on_pass` hears of every pass that claimed something."""
        while not stop.is_set():
            report = self.run_pass(batch)
            if report.claimed == 0:
                stop.wait(idle_seconds)
            elif on_pass is not None:
                on_pass(report)

    def _claim(self, batch: int, report: PassReport) -> list[Claimed]:
        with transaction():
            now = self.program.clock.now()
            open_channels = [c for c, b in self.breakers.items() if b.allows(now)]
            report.paused_channels = sorted(set(self.breakers) - set(open_channels))
            if not open_channels:
                db.session.rollback()
                return []
            rows = []
            for channel in open_channels:
                # A gateway being probed gets one message, not a batch held for nothing.
                size = 1 if self.breakers[channel].probing() else batch
                rows.extend(self._due(channel, now, size))
            claimed: list[Claimed] = []
            lease = timedelta(seconds=self.settings.lease_seconds)
            for row in rows:
                if row.attempts >= self.settings.backoff.max_attempts:
                    # Abandoned by workers that died on it as many times as we allow.
                    row.status, row.lease_until, row.lease_token = "failed", None, None
                    row.last_error = "превышено число попыток"
                    report.failed += 1
                    continue
                row.status = "sending"
                row.attempts += 1
                row.lease_token = self.program.new_key()
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
        return claimed

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

    def _record(self, item: Claimed, outcome: Outcome, report: PassReport, paused: bool) -> None:
        """Store the outcome (in the pass's transaction), unless the lease was lost. A message
        held back by an open circuit breaker, or sent as its probe while the gateway is still
        down, gets its attempt back."""
        row = db.session.scalars(
            select(Invitation)
            .where(Invitation.id == item.id, Invitation.lease_token == item.lease_token)
            .with_for_update()
        ).first()
        if row is None:  # the lease ran out and another worker took the message over
            return
        now = self.program.clock.now()
        row.lease_until, row.lease_token = None, None
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
