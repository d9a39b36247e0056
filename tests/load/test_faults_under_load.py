"""Faults under load, on PostgreSQL behind gunicorn with three workers, limits in Redis.

For ~25 s, browsers (threads of `requests` sessions) sign in, apply codes (one referrer's
code by many at once, the same client twice at once, two members each other's codes), invite
by SMS and read their pages. Meanwhile the SMS gateway is down for a simulated hour (as many
breaker cool-downs as an hour holds at the production setting, scaled to 0.1 s each), a
gunicorn worker and the delivery worker are killed with SIGKILL. Afterwards the gateway is
back and the outbox drains, and the invariants are checked on the database:
one referral per referee, non-overlapping referrer grants, each SMS pack at most once, every
accepted invitation delivered exactly once, and no 5xx. The metrics (Prometheus' multiprocess
mode, as in production) grow while the load runs and end equal to the database's counts, a
killed worker's counts included."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from cabinet.clock import Context
from cabinet.db import db
from cabinet.invitations import notices
from cabinet.invitations.models import Invitation
from cabinet.referrals import services
from cabinet.referrals.models import Grant, Referral, SmsPack
from cabinet.simulator.server import SimulatorServer
from tests.factories import make_client
from tests.load.harness import Browser, DeliveryWorker, Gunicorn, Tally
from tests.security.figures import record_fault
from tests.web.conftest import PASSWORD
from tests.web.test_metrics import Samples, parse, value

pytestmark = [pytest.mark.load, pytest.mark.slow]

LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS", "25"))
OUTAGE = (3.0, 15.0)  # seconds into the load: the gateway answers 503 in between
BREAKER_COOLDOWN = 0.1  # 120 cool-downs in 12 s: an hour's worth at the production 30 s
REFERRER, FIRST_REFEREE, REFEREES = 1000, 1001, 24
PAIR = (1101, 1102)  # two members who try each other's codes at once
TOKEN = "load-token"
METRICS_TOKEN = "load-metrics-token-0123456789abcdef"


def postgres_or_skip() -> None:
    if not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"):
        pytest.skip("нагрузка и отказы под gunicorn — только на PostgreSQL (TEST_DATABASE_URL)")


def seed(app: Flask) -> str:
    context: Context = app.extensions["context"]
    now = datetime.now(UTC)
    with app.app_context():
        make_client(
            REFERRER,
            "Реферер",
            registered_at=now - timedelta(days=60),
            email="r@load-test.ru",
            password=PASSWORD,
        )
        code = services.join(context.at(now - timedelta(days=59)), REFERRER).code
        for client_id in [*range(FIRST_REFEREE, FIRST_REFEREE + REFEREES), *PAIR]:
            make_client(
                client_id,
                registered_at=now - timedelta(days=1),
                email=f"c{client_id}@load-test.ru",
                password=PASSWORD,
            )
        for client_id in PAIR:
            services.join(context.at(now - timedelta(hours=1)), client_id)
        # Applied codes would queue the members' notices «Клиент … применил ваш код» (e-mail):
        # this run counts SMS invitations (notices: tests/invitations/test_applied_notice.py).
        for client_id in (REFERRER, *PAIR):
            notices.set_switch(client_id, on=False)
        db.session.remove()
    return code


def env_for(app: Flask, gateway: str, prefix: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "load-test-secret-key-long-enough-0000",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/14",
        "RATELIMIT_KEY_PREFIX": prefix,
        "INVITE_RATE_LIMIT": "100000 per minute",
        "INVITE_MEMBER_RATE_LIMIT": "100000 per minute",
        "SMS_MEMBER_DAILY_CAP": "1000",
        "SMS_NEW_MEMBER_DAILY_CAP": "1000",
        "SMS_GATEWAY_URL": gateway + "/sms",
        "SMS_GATEWAY_TOKEN": TOKEN,
        "GATEWAY_BREAKER_COOLDOWN_SECONDS": str(BREAKER_COOLDOWN),
        "GATEWAY_CONNECT_TIMEOUT": "1",
        "GATEWAY_READ_TIMEOUT": "2",
        "INVITE_BACKOFF_BASE_SECONDS": "0.05",
        "INVITE_BACKOFF_MAX_SECONDS": "0.5",
        "INVITE_LEASE_SECONDS": "3",
        "GATEWAY_DEADLINE_SECONDS": "2.5",  # each call ends inside the lease
    }


def browse(
    base: str,
    client_id: int,
    code: str,
    stop: threading.Event,
    tally: Tally,
    accepted: list[str],
    go: threading.Barrier,
) -> None:
    """One client: apply the referrer's code (twice), invite friends, read its pages."""
    browser = Browser(base, tally)
    browser.sign_in(f"c{client_id}@load-test.ru", PASSWORD)
    go.wait(timeout=120)  # every browser signed in: the load starts at once
    browser.post("/referral/apply", {"code": code})
    browser.post("/referral/apply", {"code": code})  # again: refused, never a second referral
    browser.refresh_token()
    n = 0
    while not stop.is_set():
        number = f"+7916{client_id % 1000:03d}{n:04d}"
        response = browser.post(
            "/referral/invite", {"channel": "sms", "recipient": number, "consent": "y"}
        )
        if response.status_code == 303:
            accepted.append(number)
        for tab in ("history", "clients", "invitations"):
            browser.request("GET", f"/referral?tab={tab}")
        n += 1


def test_faults_under_load_keep_every_invariant(app: Flask, database: None, tmp_path: Path) -> None:
    postgres_or_skip()
    code = seed(app)
    gateway = SimulatorServer(("127.0.0.1", 0), TOKEN)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    gateway_url = f"http://127.0.0.1:{gateway.server_port}"
    env = {
        **env_for(app, gateway_url, f"load-{uuid.uuid4().hex}"),
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),  # gunicorn and the delivery worker
        "METRICS_TOKEN": METRICS_TOKEN,
    }
    server = Gunicorn(env, workers=3)
    worker = DeliveryWorker(env)
    tally = Tally()
    accepted: list[str] = []
    stop = threading.Event()
    clients = [*range(FIRST_REFEREE, FIRST_REFEREE + REFEREES)]
    browsers = [*clients, clients[0], clients[1]]  # two clients in two browsers at once
    go = threading.Barrier(len(browsers) + 2)  # the browsers, the pair, and this scheduler
    threads = [
        threading.Thread(target=browse, args=(server.url, c, code, stop, tally, accepted, go))
        for c in browsers
    ]
    threads.append(
        threading.Thread(target=_pair_apply_each_other, args=(server.url, tally, app, go))
    )
    killed: list[int] = []
    outage_seen = False
    scraped: list[Samples] = []
    try:
        for thread in threads:
            thread.start()
        go.wait(timeout=180)  # everyone signed in: the clock of the scenario starts now
        started = time.monotonic()
        while time.monotonic() - started < LOAD_SECONDS:
            elapsed = time.monotonic() - started
            down = OUTAGE[0] <= elapsed < OUTAGE[1]
            gateway.state.faults.error_rate = 1.0 if down else 0.0
            outage_seen = outage_seen or down
            if elapsed >= 8 and not killed:
                scraped.append(_scrape(server.url))  # while the load runs
                killed.append(server.kill_a_worker())
                worker.kill_and_restart()
            time.sleep(0.1)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        gateway.state.faults.error_rate = 0.0
        drained_in = _drain(app, seconds=90)
        scraped.append(_scrape(server.url))
    finally:
        stop.set()
        worker.stop()
        server.stop()
        gateway.shutdown()
        gateway.server_close()

    violations = invariants(app, gateway, accepted)
    record_fault(
        "gunicorn_load",
        seconds=LOAD_SECONDS,
        workers=3,
        requests=tally.requests,
        server_errors=tally.server_errors,
        dropped_connections_retried=tally.dropped,
        statuses=dict(tally.statuses),
        invitations_accepted=len(accepted),
        gateway_outage_seconds=OUTAGE[1] - OUTAGE[0],
        breaker_cooldowns_in_outage=int((OUTAGE[1] - OUTAGE[0]) / BREAKER_COOLDOWN),
        gunicorn_workers_killed=len(killed),
        delivery_workers_killed=len(killed),
        outbox_drained_seconds=round(drained_in, 1),
        invariant_violations=violations,
    )
    assert outage_seen and killed, "the faults were not injected"
    assert tally.server_errors == 0, tally.statuses
    assert accepted, "no invitation was accepted under load"
    assert violations == {}, violations
    _metrics_match_the_database(app, *scraped, tally)


def _scrape(base: str) -> Samples:
    response = requests.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10
    )
    assert response.status_code == 200, response.text
    return parse(response.text)


def _metrics_match_the_database(app: Flask, during: Samples, after: Samples, tally: Tally) -> None:
    requests_total = "cabinet_http_request_duration_seconds_count"

    def total(samples: Samples, prefix: str, **labels: str) -> float:
        return sum(
            v
            for (name, have), v in samples.items()
            if name == prefix and set(labels.items()) <= set(have)
        )

    assert 0 < total(during, requests_total) < total(after, requests_total)
    assert total(after, requests_total, status_class="5xx") == tally.server_errors == 0
    with app.app_context():
        referrals = db.session.scalar(select(func.count()).select_from(Referral))
        statuses = Counter(
            dict(
                db.session.execute(
                    select(Invitation.status, func.count()).group_by(Invitation.status)
                ).all()
            )
        )
        db.session.remove()
    assert value(after, "cabinet_referral_codes_applied_total") == referrals
    # Each client's second «Применить» was refused, as «уже применили» or «уже участвуете».
    assert total(after, "cabinet_referral_codes_refused_total") >= REFEREES
    delivered = value(after, "cabinet_invitations_total", channel="sms", event="delivered")
    assert delivered == statuses["sent"]
    # A worker killed between its commit and its count would miss that one invitation.
    queued = value(after, "cabinet_invitations_total", channel="sms", event="queued")
    assert 0 <= sum(statuses.values()) - queued <= 1
    assert value(after, "cabinet_outbox_depth", status="queued") == 0
    assert value(after, "cabinet_delivery_passes_total", result="work") > 0


def _pair_apply_each_other(base: str, tally: Tally, app: Flask, go: threading.Barrier) -> None:
    """Two members apply each other's codes at the same moment: at most one succeeds."""
    with app.app_context():
        from cabinet.referrals.models import Member

        codes = {
            m.client_id: m.code for m in db.session.scalars(select(Member)) if m.client_id in PAIR
        }
        db.session.remove()
    browsers = []
    for client_id in PAIR:
        browser = Browser(base, tally)
        browser.sign_in(f"c{client_id}@load-test.ru", PASSWORD)
        browsers.append(browser)
    other = {PAIR[0]: codes[PAIR[1]], PAIR[1]: codes[PAIR[0]]}
    go.wait(timeout=120)
    threads = [
        threading.Thread(target=b.post, args=("/referral/apply", {"code": other[c]}))
        for b, c in zip(browsers, PAIR, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)


def _drain(app: Flask, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with app.app_context():
            pending = db.session.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(Invitation.status.in_(("queued", "sending")))
            )
            db.session.remove()
        if pending == 0:
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError("the outbox did not drain")


def invariants(app: Flask, gateway: SimulatorServer, accepted: list[str]) -> dict[str, object]:
    """Every broken invariant, by name (empty when all hold)."""
    broken: dict[str, object] = {}
    with app.app_context():
        twice = db.session.execute(
            select(Referral.referee_id).group_by(Referral.referee_id).having(func.count() > 1)
        ).all()
        if twice:
            broken["one referral per referee"] = [r[0] for r in twice]
        pair = db.session.scalar(
            select(func.count())
            .select_from(Referral)
            .where(Referral.referrer_id.in_(PAIR), Referral.referee_id.in_(PAIR))
        )
        if pair and pair > 1:
            broken["no two-client cycle"] = pair
        grants = db.session.execute(
            select(Grant.client_id, Grant.starts_at, Grant.ends_at)
            .where(Grant.reason == "referrer", Grant.revoked_at.is_(None))
            .order_by(Grant.client_id, Grant.starts_at)
        ).all()
        for before, after in zip(grants, grants[1:], strict=False):
            if before.client_id == after.client_id and before.ends_at > after.starts_at:
                broken.setdefault("non-overlapping referrer grants", []).append(after.client_id)  # type: ignore[union-attr]
        packs = db.session.execute(
            select(SmsPack.client_id, SmsPack.size)
            .where(SmsPack.revoked_at.is_(None))
            .group_by(SmsPack.client_id, SmsPack.size)
            .having(func.count() > 1)
        ).all()
        if packs:
            broken["each SMS pack at most once"] = [tuple(p) for p in packs]
        rows = db.session.execute(
            select(Invitation.key, Invitation.recipient, Invitation.status)
        ).all()
        db.session.remove()
    not_sent = [r.recipient for r in rows if r.status != "sent"]
    if not_sent:
        broken["every accepted invitation delivered"] = not_sent[:10]
    kept = Counter(m.key for m in gateway.state.messages)
    keys = {r.key for r in rows}
    if set(kept) != keys:
        broken["delivered exactly the accepted ones"] = len(set(kept) ^ keys)
    if kept and max(kept.values()) > 1:
        broken["delivered exactly once"] = [k for k, n in kept.items() if n > 1][:10]
    if set(accepted) - {r.recipient for r in rows}:
        broken["every accepted invitation stored"] = sorted(
            set(accepted) - {r.recipient for r in rows}
        )[:10]
    return broken
