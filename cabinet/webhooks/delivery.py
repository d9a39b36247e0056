"""The webhook worker: new events into the subscribers' outbox, then due deliveries POSTed.

The same guarantees as the invitations' worker, from the same parts (cabinet/outbox.py,
cabinet/deadlines.py): a claim is a lease renewed by a heartbeat while its deliveries are
sent; a send starts only when the lease outlasts the call's deadline; the lease token fences
outcomes; a worker killed mid-send leaves the lease to run out and the delivery goes again
under the same `webhook-id`. So every event reaches every subscriber at least once, and a
receiver that remembers the ids it has processed handles each once (docs/webhooks.md).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from flask import Flask, current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from cabinet import logs
from cabinet.backoff import retry_delay
from cabinet.clock import Clock, Context, SystemClock
from cabinet.db import db, transaction
from cabinet.deadlines import DeadlineAdapter, retry_after_seconds, watchdog
from cabinet.events.models import Event
from cabinet.moments import iso_moment
from cabinet.outbox import Lease
from cabinet.webhooks import rules
from cabinet.webhooks.models import Delivery, Subscriber
from cabinet.webhooks.services import fan_out
from cabinet.webhooks.settings import WebhookSettings

log = logging.getLogger("cabinet.webhooks")


@dataclass(frozen=True)
class Answer:
    """What one POST came to: a 2xx, or why not (a status, a timeout, no connection)."""

    delivered: bool
    status_code: int | None
    detail: str
    retry_after: float | None = None


class Sender:
    """POSTs a signed body; every call bounded by the deadline (connect + the whole answer).
    Redirects are never followed: a subscriber's address is the one it gave."""

    def __init__(
        self, session: requests.Session, settings: WebhookSettings, wall: Clock | None = None
    ) -> None:
        self.session = session
        self.settings = settings
        # The real time: a Retry-After date is real whatever the demo's time machine shows.
        self.wall: Clock = wall or SystemClock()
        self.timeout = (
            settings.connect_timeout,
            min(settings.read_timeout, settings.deadline_seconds),
        )
        for scheme in ("http://", "https://"):
            if not isinstance(session.get_adapter(scheme + "x"), DeadlineAdapter):
                session.mount(scheme, DeadlineAdapter())

    def post(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        request_id = logs.current_request_id()
        if request_id is not None:
            headers = {**headers, "X-Request-Id": request_id}
        deadline = self.settings.deadline_seconds
        with watchdog.watching(deadline) as call:
            try:
                response = self.session.post(
                    url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False
                )
            except requests.RequestException as exc:
                if call.fired:
                    return Answer(False, None, f"нет ответа за {deadline:g} с")
                if isinstance(exc, requests.Timeout):
                    return Answer(False, None, "нет ответа вовремя")
                return Answer(False, None, f"нет соединения ({type(exc).__name__})")
        status = response.status_code
        response.close()
        if rules.accepted(status):
            return Answer(True, status, f"HTTP {status}")
        retry_after = retry_after_seconds(response.headers.get("Retry-After"), self.wall)
        return Answer(False, status, f"HTTP {status}", retry_after)


@dataclass(frozen=True)
class Claimed:
    id: int
    lease_token: str
    attempts: int
    url: str
    secret: str
    msg_id: str
    body: bytes


@dataclass
class PassReport:
    queued: int = 0  # new events put in the outbox
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    given_back: int = 0
    superseded: int = 0

    def __str__(self) -> str:
        text = (
            f"новых событий в очереди: {self.queued}, взято: {self.claimed}, "
            f"доставлено: {self.delivered}, повтор позже: {self.retried}, "
            f"не доставлено: {self.failed}"
        )
        if self.given_back:
            text += f", возвращено в очередь: {self.given_back}"
        if self.superseded:
            text += f", уже у другого обработчика: {self.superseded}"
        return text


class Worker:
    def __init__(
        self,
        context: Context,
        settings: WebhookSettings,
        sender: Sender,
        rng: random.Random | None = None,
        wall: Clock | None = None,
    ) -> None:
        self.context = context
        self.settings = settings
        self.sender = sender
        # Jitter, not security; seeded from the program's random source.
        self.rng = rng or random.Random(context.random_bytes(16))  # noqa: S311
        # `Webhook-Timestamp` is real time: receivers check it against their own clocks.
        self.wall: Clock = wall or SystemClock()

    def run_pass(self, batch: int = 20, stop: threading.Event | None = None) -> PassReport:
        """New events into the outbox; then up to `batch` due deliveries claimed, each tried
        once while a heartbeat renews the lease, every outcome stored in one transaction."""
        report = PassReport(queued=fan_out(self.context))
        claimed, until = self._claim(batch, report)
        report.claimed = len(claimed)
        tried: list[tuple[Claimed, Answer | None, datetime]] = []
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        with Lease(
            app,
            Delivery,
            claimed,
            until,
            self.context.clock,
            self.settings.lease_seconds,
            self.settings.deadline_seconds,
            "вебхуков",
        ) as lease:
            for item in claimed:
                if (stop is not None and stop.is_set()) or not lease.holds(item):
                    tried.append((item, None, self.context.clock.now()))
                    continue
                tried.append((item, self._send(item), self.context.clock.now()))
        if tried:
            with transaction():
                for item, answer, at in tried:
                    self._record(item, answer, at, report)
        return report

    def _send(self, item: Claimed) -> Answer:
        with logs.bound(request_id=logs.new_request_id(), webhook_delivery_id=item.id):
            stamp = int(self.wall.now().timestamp())
            headers = rules.headers(item.secret, item.msg_id, stamp, item.body)
            answer = self.sender.post(item.url, headers, item.body)
            log.info("webhook %s: %s", item.msg_id, answer.detail, extra={"attempt": item.attempts})
        return answer

    def run_until(
        self,
        stop: threading.Event,
        idle_seconds: float = 1.0,
        batch: int = 20,
        on_pass: Callable[[PassReport], None] | None = None,
    ) -> None:
        """Pass after pass until `stop` is set, resting `idle_seconds` when nothing was due;
        a database that does not answer is tried again after the rest."""
        while not stop.is_set():
            try:
                report = self.run_pass(batch, stop)
            except SQLAlchemyError:
                log.warning("Вебхуки: база данных недоступна, повтор через %g с.", idle_seconds)
                db.session.remove()
                stop.wait(idle_seconds)
                continue
            if report.claimed == 0 and report.queued == 0:
                stop.wait(idle_seconds)
            elif on_pass is not None:
                on_pass(report)

    def _claim(self, batch: int, report: PassReport) -> tuple[list[Claimed], datetime]:
        with transaction():
            now = self.context.clock.now()
            lease = timedelta(seconds=self.settings.lease_seconds)
            rows = list(
                db.session.execute(
                    select(Delivery, Subscriber.url, Subscriber.secret)
                    .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
                    .where(
                        Subscriber.removed_at.is_(None),
                        Delivery.status.in_(("queued", "sending")),
                        Delivery.next_attempt_at <= now,
                        or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now),
                    )
                    .order_by(Delivery.next_attempt_at, Delivery.id)
                    .limit(batch)
                    .with_for_update(skip_locked=True, of=Delivery)
                ).tuples()
            )
            events = {
                e.id: e
                for e in db.session.scalars(
                    select(Event).where(Event.id.in_([row.event_id for row, _, _ in rows]))
                )
            }
            claimed: list[Claimed] = []
            for row, url, secret in rows:
                event = events.get(row.event_id)
                if event is None or row.attempts >= self.settings.backoff.max_attempts:
                    # Abandoned by workers that died on it as many times as we allow.
                    row.status, row.lease_until, row.lease_token = "failed", None, None
                    row.last_error = "нет события" if event is None else "превышено число попыток"
                    report.failed += 1
                    continue
                row.status = "sending"
                row.attempts += 1
                row.lease_token = self.context.new_key()
                row.lease_until = now + lease
                body = rules.body(
                    event.id,
                    event.kind,
                    event.client_id,
                    iso_moment(event.occurred_at, self.context.timezone),
                    event.data,
                )
                claimed.append(
                    Claimed(
                        row.id,
                        row.lease_token,
                        row.attempts,
                        url,
                        secret,
                        rules.message_id(row.subscriber_id, row.event_id),
                        body,
                    )
                )
        return claimed, now + lease

    def _record(
        self, item: Claimed, answer: Answer | None, at: datetime, report: PassReport
    ) -> None:
        """Store one outcome (in the pass's transaction). `None`: not sent, back in the
        queue with its attempt. Fencing: when the row no longer carries this claim's token,
        another worker (or a replay) has it; a delivery is still the truth and is recorded
        unless the row is already delivered, any other outcome of ours is ignored."""
        row = db.session.scalars(
            select(Delivery).where(Delivery.id == item.id).with_for_update()
        ).first()
        if row is None:
            return
        if row.lease_token != item.lease_token:
            if answer is not None and answer.delivered and row.status != "delivered":
                row.status, row.delivered_at, row.last_error = "delivered", at, None
                row.last_status_code, row.last_attempt_at = answer.status_code, at
                row.lease_until, row.lease_token = None, None
                report.delivered += 1
            else:
                report.superseded += 1
            return
        row.lease_until, row.lease_token = None, None
        if answer is None:
            row.attempts -= 1
            row.status = "queued"
            report.given_back += 1
            return
        row.last_attempt_at, row.last_status_code = at, answer.status_code
        if answer.delivered:
            row.status, row.delivered_at, row.last_error = "delivered", at, None
            report.delivered += 1
            return
        row.last_error = answer.detail[:300]
        if row.attempts < self.settings.backoff.max_attempts:
            delay = retry_delay(row.attempts, self.settings.backoff, self.rng, answer.retry_after)
            row.status, row.next_attempt_at = "queued", at + timedelta(seconds=delay)
            report.retried += 1
        else:
            row.status = "failed"
            report.failed += 1
