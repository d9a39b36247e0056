"""A real webhook receiver on a loopback port: it checks every signature as a subscriber's
system would (the snippet of docs/webhooks.md), remembers what it processed, and fails on
purpose as told (5xx, an answer slower than the sender's deadline)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, Response, request

from cabinet.webhooks import rules
from tests.servers import serving


@dataclass(frozen=True)
class Received:
    msg_id: str
    event_id: int
    kind: str
    verified: bool
    answered: int  # the status it answered (0: held past the sender's deadline)


# A plan: for a message and its attempt (1, 2, …) at this receiver, what to do: an HTTP status
# to answer, or 0 to hold the request past the sender's deadline (a timeout).
Plan = Callable[[str, int, int], int]


def always_ok(_msg_id: str, _event_id: int, _attempt: int) -> int:
    return 200


@dataclass
class Receiver:
    url: str
    secret: str = ""
    plan: Plan = always_ok
    received: list[Received] = field(default_factory=list)
    processed: dict[str, int] = field(default_factory=dict)  # webhook-id → event id, once
    lock: threading.Lock = field(default_factory=threading.Lock)
    release: threading.Event = field(default_factory=threading.Event)

    def attempts(self, msg_id: str) -> int:
        with self.lock:
            return sum(1 for r in self.received if r.msg_id == msg_id)

    def handle(self) -> Response:
        body = request.get_data()
        verified = rules.verify(self.secret, dict(request.headers), body, int(time.time()))
        envelope = json.loads(body) if verified else {"data": {"id": 0}, "type": "?"}
        msg_id = request.headers.get("Webhook-Id", "")
        event_id = int(envelope["data"]["id"])
        with self.lock:
            attempt = 1 + sum(1 for r in self.received if r.msg_id == msg_id)
            status = self.plan(msg_id, event_id, attempt) if verified else 401
            self.received.append(Received(msg_id, event_id, envelope["type"], verified, status))
        if status == 0:  # hold it until the test ends: the sender gives up at its deadline
            self.release.wait(30)
            return Response("too late", 200)
        if status == 200:
            with self.lock:
                self.processed.setdefault(msg_id, event_id)  # deduplicated on the webhook-id
        return Response("", status)


@contextmanager
def receiving(plan: Plan = always_ok) -> Iterator[Receiver]:
    app = Flask("webhook_receiver")
    receiver: Receiver | None = None

    @app.post("/hooks")
    def hooks() -> Response:
        assert receiver is not None
        return receiver.handle()

    with serving(app) as base:
        receiver = Receiver(base + "/hooks", plan=plan)
        try:
            yield receiver
        finally:
            receiver.release.set()
