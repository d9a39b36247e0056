"""`make bench`: the cabinet under gunicorn next to a bare hello-world, driven by wrk.

    python -m bench.run [--duration 5] [--scale bench|1m] [--databases sqlite,postgresql]

For each database: a fresh database (a SQLite file; a PostgreSQL schema of its own, dropped
after), migrated, the demo clients seeded, the generated program of `--scale` added
(bench/generate.py). Then gunicorn with gunicorn.conf.py serves the cabinet on 127.0.0.1 and
wrk drives each endpoint for `--duration` seconds with `--connections`; hello-world is measured
the same way once. Then the delivery worker (`flask invitations deliver --loop`, 1 and 4
processes) sends queued invitations to the gateway simulator. A markdown table goes to stdout
and to `--output`. Nothing here is a test: numbers are reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from bench import flaskr

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SECRET = "bench-secret-key-not-for-production-0123456789"  # noqa: S105
GATEWAY_TOKEN = "bench-gateway"  # noqa: S105
WORKER_MESSAGES = 1000
# What a browser sends; pages are compressed as they would be for it.
BROWSER = {"Accept-Encoding": "gzip, br"}
HX = {"HX-Request": "true"}
HELLO = "hello-world `GET /` (bench/hello.py)"
FLASKR = "Flask tutorial's index, signed in, 20 posts (bench/flaskr.py)"
SESSION_COOKIE = "cabinet_session"
# A server that keeps nothing: every request renders, as a first view.
COLD = {"FRAGMENT_CACHE_URL": "memory://", "FRAGMENT_CACHE_BYTES": "0"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def line(self) -> str:
        headers = "\x1f".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method}\t{self.path}\t{headers}\t{self.body}"


@dataclass(frozen=True)
class Endpoint:
    name: str
    requests: list[Request]  # cycled; one request each for the GETs
    warm_up: bool = True  # POSTs change data: no warm-up round


@dataclass(frozen=True)
class Result:
    name: str
    database: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    # rps over the Flask tutorial's index driven right before and right after it (`paced`)
    to_flaskr: float | None = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="make bench")
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scale", default="bench", help="bench/generate.py SCALES")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--worker-messages", type=int, default=WORKER_MESSAGES)
    parser.add_argument(
        "--no-warm-up", dest="warm_up", action="store_false", help="skip the 1 s warm-up rounds"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="drive each of a server's endpoints this many times, in turns, and report the "
        "median of the runs (this machine's speed drifts by ±15 %% from minute to minute)",
    )
    parser.add_argument(
        "--pause-ms",
        type=int,
        default=0,
        help="each connection waits this long before each request (a smoke run, not a measure)",
    )
    parser.add_argument(
        "--delivery-processes",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[1, 4],
        help="how many delivery workers to time, one run each (default 1,4)",
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results.md")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results: list[Result] = []
    workers: list[tuple[str, int, float]] = []
    paced: list[float] = []  # the tutorial's runs that paced the cabinet's
    with tempfile.TemporaryDirectory(prefix="cabinet-bench-") as scratch:
        work = Path(scratch)
        hello = Endpoint(HELLO, [Request("GET", "/")])
        flaskr_index = Endpoint(
            FLASKR,
            [Request("GET", "/", {**BROWSER, "Cookie": f"session={flaskr.signed_in_cookie()}"})],
        )
        flaskr_env = {"FLASKR_DATABASE": str(work / "flaskr.sqlite3")}
        flaskr.fill(flaskr_env["FLASKR_DATABASE"])
        for database in args.databases.split(","):
            with prepared_database(database, args.postgres_url, work) as url:
                fixtures = prepare(url, args.scale, work)

                def yardsticks(database: str = database) -> None:
                    with server("bench.hello:app", {}, work / "hello.log") as base:
                        results.append(drive(base, hello, database, args, work))
                    with server("bench.flaskr:app", flaskr_env, work / "flaskr.log") as base:
                        results.append(drive(base, flaskr_index, database, args, work))

                # Measured three times around the cabinet's endpoints (the × hello-world
                # column takes the median): this machine's speed drifts by ±15 % over minutes.
                yardsticks()
                env = app_env(url)
                # The tutorial's index, served beside the cabinet, paces it: each endpoint's
                # × flaskr is to the tutorial driven right before and right after its group.
                with server("bench.flaskr:app", flaskr_env, work / "flaskr-pace.log") as tutor:

                    def pace(tutor: str = tutor, database: str = database) -> float:
                        rps = drive(tutor, flaskr_index, database, args, work).rps
                        paced.append(rps)
                        return rps

                    # Cold: nothing is kept, every request renders (a first view).
                    cold_env = {**env, **COLD}
                    with server("wsgi:app", cold_env, work / f"cabinet-{database}.log") as base:
                        cold = [*endpoints(fixtures), mix(fixtures, False)]
                        results.extend(drive_in_turns(base, cold, database, args, work, pace))
                    yardsticks()
                    # Warm: the fragment cache in Redis, as in production; the kept body, 304.
                    with server("wsgi:app", env, work / f"cabinet-{database}-warm.log") as base:
                        warm = [*warm_endpoints(fixtures), mix(fixtures, True)]
                        results.extend(drive_in_turns(base, warm, database, args, work, pace))
                yardsticks()
                for count in args.delivery_processes:
                    rate = deliver(url, count, args.worker_messages, work)
                    workers.append((database, count, rate))
    elapsed = time.monotonic() - started
    table = render(results, workers, args, elapsed, paced)
    print(table)
    args.output.write_text(table, encoding="utf-8")
    say(f"table written to {args.output} ({elapsed:.0f} s)")
    return 0


def say(text: str) -> None:
    print(f"==> {text}", file=sys.stderr, flush=True)


# ---- databases and data ----------------------------------------------------------------------


@contextmanager
def prepared_database(database: str, postgres_url: str, work: Path) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{work / 'bench.sqlite3'}"
        return
    if database != "postgresql":
        raise SystemExit(f"unknown database {database!r}: sqlite or postgresql")
    from sqlalchemy import create_engine, text

    from cabinet.config import normalise_database_url

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(postgres_url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@dataclass
class Fixtures:
    member: tuple[str, str]  # (cookie, CSRF token) of demo client 400
    deep: tuple[str, str]  # the referrer with `deep` referred clients
    deep_history_after: str
    deep_clients_after: str
    newcomers: list[tuple[str, str, str]]  # (cookie, token, a referrer's code) per apply
    senders: list[tuple[str, str]]
    token: str


def app_env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "CABINET_ENV": "production",
        "DEMO_MODE": "0",
        # The load comes from one address and a handful of members: the per-IP and per-member
        # limits would refuse it by design, so they are raised for the benchmark.
        "INVITE_RATE_LIMIT": "100000000 per minute",
        "INVITE_MEMBER_RATE_LIMIT": "100000000 per minute",
        "INVITE_RECIPIENT_RATE_LIMIT": "100000000 per minute",
        "APPLY_CODE_FAILURE_LIMIT": "100000000 per minute",
        "APPLY_CODE_IP_FAILURE_LIMIT": "100000000 per minute",
        "LOGIN_ACCOUNT_FAILURE_LIMIT": "100000000 per minute",
        "LOGIN_IP_FAILURE_LIMIT": "100000000 per minute",
        "INVITE_DAILY_CAP": "100000000",
        "SMS_DAILY_BUDGET": "100000000",
        "SMS_MEMBER_DAILY_CAP": "100000000",
        "SMS_NEW_MEMBER_DAILY_CAP": "100000000",
        "SMS_RESERVE": "0",
        # Production counts limits in Redis, shared by the workers, as it does here.
        "RATELIMIT_STORAGE_URI": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "RATELIMIT_KEY_PREFIX": "cabinet-bench",
    }


def prepare(url: str, scale: str, work: Path) -> Fixtures:
    """Migrate, seed the demo, generate `scale`, and make the sessions the load will use."""
    env = app_env(url)
    say(f"migrate and seed {url.split('?')[0]}")
    for command in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run(
            [str(BIN / "flask"), *command], cwd=ROOT, env=env, check=True, capture_output=True
        )
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return _fixtures(scale)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _fixtures(scale: str) -> Fixtures:
    from flask import session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from bench.generate import SCALES, generate
    from cabinet import create_app
    from cabinet.api import tokens
    from cabinet.clients.models import Client
    from cabinet.db import db
    from cabinet.referral_page import encode_cursor
    from cabinet.referrals import queries

    app = create_app()
    context = app.extensions["context"]
    say(f"generate the {scale!r} program (bench/generate.py)")
    made = generate(app, SCALES[scale], context.clock.now())

    def signed_in(client_id: int) -> tuple[str, str]:
        with app.test_request_context("/", environ_base={"REMOTE_ADDR": "127.0.0.1"}):
            client = db.session.get(Client, client_id)
            login_user(client)
            session.permanent = True
            token = generate_csrf()
            cookie = app.session_interface.get_signing_serializer(app).dumps(dict(session))
            db.session.remove()
        return str(cookie), str(token)

    say("sign in the benchmark's clients")
    with app.app_context():
        issued = tokens.issue(context, "bench").token
        deep = made.deep_referrer
        depth = min(9000, SCALES[scale].deep - 40)
        history = queries.history(deep, limit=depth, newest_first=True)
        referred = queries.referred_clients(deep, limit=depth, newest_first=True)
        db.session.remove()
    codes = [f"{cid:09x}" for cid in list(made.referrers)[1:21]]
    newcomers = [
        (*signed_in(cid), codes[n % len(codes)])
        for n, cid in enumerate(list(made.plain_clients)[:2000])
    ]
    with app.app_context():
        db.engine.dispose()
    return Fixtures(
        member=signed_in(400),
        deep=signed_in(deep),
        deep_history_after=encode_cursor(history[-1].cursor),
        deep_clients_after=encode_cursor(referred[-1].cursor),
        newcomers=newcomers,
        senders=[signed_in(cid) for cid in list(made.referrers)[1:51]],
        token=issued,
    )


def endpoints(f: Fixtures) -> list[Endpoint]:
    def page(cookie: tuple[str, str], path: str, htmx: bool = False) -> Request:
        headers = {**BROWSER, "Cookie": f"{SESSION_COOKIE}={cookie[0]}"}
        return Request("GET", path, {**headers, **(HX if htmx else {})})

    api = {**BROWSER, "Authorization": f"Bearer {f.token}"}
    invoice = json.dumps(
        {
            "lines": [
                {
                    "kind": "service",
                    "amount": 1000000,
                    "period": {"first_day": "2023-04-01", "last_day": "2023-04-30"},
                },
                {"kind": "sms_package", "amount": 50000},
            ]
        }
    )
    applies = [
        Request(
            "POST",
            "/referral/apply",
            {
                **BROWSER,
                **HX,
                "Cookie": f"{SESSION_COOKIE}={cookie}",
                "X-CSRFToken": token,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            f"code={code}",
        )
        for cookie, token, code in f.newcomers
    ]
    invites = [
        Request(
            "POST",
            "/referral/invite",
            {
                **BROWSER,
                **HX,
                "Cookie": f"{SESSION_COOKIE}={cookie}",
                "X-CSRFToken": token,
                "Content-Type": "application/x-www-form-urlencoded",
            },
            f"channel=email&recipient={quote(f'friend{n}@example.ru')}&consent=y",
        )
        for n, (cookie, token) in enumerate(f.senders * 200)
    ]
    return [
        Endpoint("`GET /login` (anonymous)", [Request("GET", "/login", BROWSER)]),
        Endpoint("`GET /referral` (member 400, full page)", [page(f.member, "/referral")]),
        Endpoint("tab «История скидок», first page", [page(f.member, "/referral", True)]),
        Endpoint(
            "tab «Приведенные клиенты», first page",
            [page(f.member, "/referral?tab=clients", True)],
        ),
        Endpoint(
            "tab «Приглашения», first page", [page(f.member, "/referral?tab=invitations", True)]
        ),
        Endpoint(
            "tab «История скидок», deep page (10 000 referred)",
            [page(f.deep, f"/referral?tab=history&after={f.deep_history_after}", True)],
        ),
        Endpoint(
            "tab «Приведенные клиенты», deep page (10 000 referred)",
            [page(f.deep, f"/referral?tab=clients&after={f.deep_clients_after}", True)],
        ),
        Endpoint("share dialog `GET /referral/invite`", [page(f.member, "/referral/invite", True)]),
        Endpoint("apply a code `POST /referral/apply` (a new client each)", applies, False),
        Endpoint("send an invitation `POST /referral/invite`", invites, False),
        Endpoint(
            "API `GET /api/v1/clients/400/discount`",
            [Request("GET", "/api/v1/clients/400/discount", api)],
        ),
        Endpoint(
            "API `POST /api/v1/clients/400/invoice-preview`",
            [
                Request(
                    "POST",
                    "/api/v1/clients/400/invoice-preview",
                    {**api, "Content-Type": "application/json"},
                    invoice,
                )
            ],
        ),
    ]


# The single GETs measured warm too: (name, path, htmx, API)
WARM = (
    ("`GET /referral` (member 400, full page)", "/referral", False, False),
    ("tab «История скидок», first page", "/referral", True, False),
    ("tab «Приведенные клиенты», first page", "/referral?tab=clients", True, False),
    ("tab «Приглашения», first page", "/referral?tab=invitations", True, False),
    ("share dialog `GET /referral/invite`", "/referral/invite", True, False),
    ("API `GET /api/v1/clients/400/discount`", "/api/v1/clients/400/discount", False, True),
)
MIX_FILE = ROOT / "bench" / "mix.tsv"
MIX = "browsing mix recorded in Chromium (bench/mix.tsv)"


def warm_endpoints(f: Fixtures) -> list[Endpoint]:
    """Each GET of WARM twice: asked again without `If-None-Match` (the kept body: another
    browser of the same session, or one whose cache was cleared), and with it (a 304)."""
    made = []
    for name, path, htmx, api in WARM:
        headers = {**BROWSER, **(HX if htmx else {})}
        if api:
            headers["Authorization"] = f"Bearer {f.token}"
        else:
            headers["Cookie"] = f"{SESSION_COOKIE}={f.member[0]}"
        plain = Request("GET", path, headers)
        made.append(Endpoint(f"{name} — warm, the kept body", [plain]))
        tagged = {**headers, "If-None-Match": ETAG}
        made.append(Endpoint(f"{name} — warm, 304", [Request("GET", path, tagged)]))
    return made


# In a request's If-None-Match: the ETag its answer has right before it is driven. A name holds
# for the minute (cabinet/conditional.py), so an endpoint driven with ETags starts with enough
# of the minute left for its warm-up and its run.
ETAG = "<the ETag of this request now>"


def with_etags(base: str, endpoint: Endpoint, seconds: int) -> Endpoint:
    if not any(r.headers.get("If-None-Match") == ETAG for r in endpoint.requests):
        return endpoint
    left = 60 - time.time() % 60
    if left < seconds + 3:
        time.sleep(left + 0.5)
    tags: dict[tuple[str, str], str] = {}
    resolved = []
    for r in endpoint.requests:
        if r.headers.get("If-None-Match") == ETAG:
            plain = {k: v for k, v in r.headers.items() if k != "If-None-Match"}
            key = (r.path, plain.get("HX-Request", ""))
            if key not in tags:
                tags[key] = etag_of(base, Request(r.method, r.path, plain))
            r = Request(r.method, r.path, {**plain, "If-None-Match": tags[key]}, r.body)
            answer = requests.get(base + r.path, headers=r.headers, timeout=30)
            if answer.status_code != 304:
                raise SystemExit(f"{r.path}: {answer.status_code} to its own ETag, not 304")
        resolved.append(r)
    return Endpoint(endpoint.name, resolved, endpoint.warm_up)


def etag_of(base: str, request: Request) -> str:
    answer = requests.get(base + request.path, headers=request.headers, timeout=30)
    if answer.status_code != 200 or "ETag" not in answer.headers:
        raise SystemExit(f"{request.path}: {answer.status_code}, no ETag")
    return answer.headers["ETag"]


def mix(f: Fixtures, conditional: bool) -> Endpoint:
    """The recorded browsing (bench/record.py) as member 400; `conditional`: with the ETags
    where Chromium revalidated (its HTTP cache), else every request asks afresh."""
    made = []
    for line in MIX_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        method, path, kept, revalidates = line.split("\t")
        headers = dict(pair.split(": ", 1) for pair in kept.split("\x1f") if pair)
        headers = {**BROWSER, **headers, "Cookie": f"{SESSION_COOKIE}={f.member[0]}"}
        if conditional and revalidates == "1":
            headers["If-None-Match"] = ETAG
        made.append(Request(method, path, headers))
    return Endpoint(f"{MIX} — {'warm' if conditional else 'cold'}", made)


def keeping_cookie(endpoint: Endpoint, cookie: str | None) -> Endpoint:
    """The endpoint's requests with the session cookie a response just set, as a browser keeps
    it: the sessions signed while preparing are minutes old by the time an endpoint is driven,
    and the cabinet signs an older cookie again (cabinet/web/sessions.py) on every response to
    a client that never keeps the new one, which a browser does not do."""
    if not cookie:
        return endpoint
    kept = [
        Request(r.method, r.path, {**r.headers, "Cookie": f"{SESSION_COOKIE}={cookie}"}, r.body)
        if "Cookie" in r.headers
        else r
        for r in endpoint.requests
    ]
    return Endpoint(endpoint.name, kept, endpoint.warm_up)


# ---- servers and load ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def server(app: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """gunicorn with the repository's config on a free loopback port, until the block ends."""
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                "gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{port}",
                app,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"gunicorn did not start:\n{log.read_text()}")
            try:
                if requests.get(base + "/", timeout=2).status_code < 500:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not answer in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        _wait_until_booted(process.pid)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _wait_until_booted(master: int, seconds: float = 30) -> None:
    """Until gunicorn's workers are idle. The first worker to answer says the server is up;
    the others may still be loading the app (≈0.75 s of CPU each), and a measurement started
    then counts their boot as the first endpoint's time."""
    deadline = time.monotonic() + seconds
    quiet, before = 0, _children_cpu_ticks(master)
    while quiet < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        now = _children_cpu_ticks(master)
        quiet = quiet + 1 if now - before <= 2 else 0
        before = now


def _children_cpu_ticks(parent: int) -> int:
    """User and system CPU ticks of `parent`'s children (Linux /proc; 0 elsewhere)."""
    total = 0
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:  # ppid, then utime and stime at 11 and 12
            total += int(fields[11]) + int(fields[12])
    return total


# Endpoints driven between two runs of the tutorial's index that pace them.
PACED = 3


def drive_in_turns(
    base: str,
    endpoints: list[Endpoint],
    database: str,
    args: Any,
    work: Path,
    pace: Callable[[], float],
) -> list[Result]:
    """Each endpoint driven `args.repeat` times, all of them in turn each time, and reported as
    the median of its runs (rps, p50 and p99 each; the errors of all): a minute in which
    the machine is slow then costs one run of each endpoint, not every run of one. The POSTs
    run once: they write, and a second run would send its applies again to clients that have
    joined. `pace()` drives the Flask tutorial's index before each group of PACED endpoints and
    after the last: an endpoint's run is set against the mean of the two around it, a few
    seconds away, and its × flaskr is the median of those ratios."""
    runs: dict[str, list[Result]] = {}
    ratios: dict[str, list[float]] = {}
    for turn in range(max(1, args.repeat)):
        todo = [endpoint for endpoint in endpoints if not turn or endpoint.warm_up]
        before = pace()
        for start in range(0, len(todo), PACED):
            group = [(e, drive(base, e, database, args, work)) for e in todo[start : start + PACED]]
            after = pace()
            for endpoint, result in group:
                runs.setdefault(endpoint.name, []).append(result)
                ratios.setdefault(endpoint.name, []).append(result.rps / ((before + after) / 2))
            before = after
    return [
        Result(
            name,
            database,
            statistics.median(r.rps for r in each),
            statistics.median(r.p50_ms for r in each),
            statistics.median(r.p99_ms for r in each),
            sum(r.errors for r in each),
            statistics.median(ratios[name]),
        )
        for name, each in runs.items()
    ]


def drive(base: str, endpoint: Endpoint, database: str, args: Any, work: Path) -> Result:
    endpoint = with_etags(base, endpoint, args.duration + (1 if args.warm_up else 0))
    script = work / "requests.txt"
    script.write_text("\n".join(r.line() for r in endpoint.requests) + "\n", encoding="utf-8")
    first = endpoint.requests[0]
    check = (
        requests.request(
            first.method,
            base + first.path,
            headers=first.headers,
            data=first.body.encode(),
            timeout=30,
        )
        if endpoint.warm_up
        else None
    )
    if check is not None and check.status_code >= 400:
        raise SystemExit(f"{endpoint.name}: {check.status_code}\n{check.text[:2000]}")
    if check is not None:
        endpoint = keeping_cookie(endpoint, check.cookies.get(SESSION_COOKIE))
        script.write_text("\n".join(r.line() for r in endpoint.requests) + "\n", encoding="utf-8")
    if endpoint.warm_up and args.warm_up:
        wrk(base, script, 1, args)
    say(f"{database}: {endpoint.name}")
    summary = wrk(base, script, args.duration, args)
    seconds = summary["duration_us"] / 1e6
    return Result(
        endpoint.name,
        database,
        summary["requests"] / seconds,
        summary["p50_us"] / 1000,
        summary["p99_us"] / 1000,
        summary["errors"],
    )


def wrk(base: str, script: Path, duration: int, args: Any) -> dict[str, Any]:
    lua = ROOT / "bench" / "requests.lua"
    done = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            base,
            "--",
            str(script),
            str(args.threads),
            str(args.pause_ms),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    )
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            summary: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return summary
    raise SystemExit(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")


# ---- the delivery worker ---------------------------------------------------------------------


def deliver(url: str, workers: int, messages: int, work: Path) -> float:
    """Queue `messages` SMS invitations, run `workers` delivery processes against the simulator,
    and return messages per second (first send to last)."""
    from sqlalchemy import create_engine, func, insert, select

    from cabinet.config import normalise_database_url
    from cabinet.invitations.models import Invitation

    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        first_id = (conn.scalar(select(func.max(Invitation.id))) or 0) + 1
        now = datetime.now(UTC)
        rows = []
        for n in range(messages):
            phone = f"+7999{n:07d}"
            rows.append(
                {
                    "key": str(uuid.uuid4()),
                    "member_id": 400,
                    "channel": "sms",
                    "recipient": phone,
                    "payload": json.dumps({"to": phone, "text": "Код приглашения 5e83e12b1"}),
                    "status": "queued",
                    "attempts": 0,
                    "created_at": now,
                    "next_attempt_at": now - timedelta(days=1),
                }
            )
        conn.execute(insert(Invitation), rows)
    mine = Invitation.id >= first_id
    port = free_port()
    simulator = subprocess.Popen(
        [
            str(BIN / "python"),
            "-m",
            "cabinet.simulator",
            "--port",
            str(port),
            "--token",
            GATEWAY_TOKEN,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **app_env(url),
        "SMS_GATEWAY_URL": f"http://127.0.0.1:{port}/sms",
        "GATEWAY_TOKEN": GATEWAY_TOKEN,
    }
    procs: list[subprocess.Popen[bytes]] = []
    try:
        _wait_for_port(port)
        say(f"delivery worker x{workers}: {messages} messages")
        procs = [
            subprocess.Popen(
                [
                    str(BIN / "flask"),
                    "invitations",
                    "deliver",
                    "--loop",
                    "--batch",
                    "50",
                    "--idle",
                    "0.2",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(work / f"worker-{n}.log").open("wb"),
            )
            for n in range(workers)
        ]
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                left = conn.scalar(select(func.count()).where(mine, Invitation.status != "sent"))
            if not left:
                break
            time.sleep(0.25)
        with engine.connect() as conn:
            first, last, sent = conn.execute(
                select(
                    func.min(Invitation.sent_at), func.max(Invitation.sent_at), func.count()
                ).where(mine, Invitation.status == "sent")
            ).one()
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
        simulator.send_signal(signal.SIGTERM)
        simulator.wait(timeout=30)
        engine.dispose()
    if sent < messages or first is None or last is None:
        say(f"only {sent} of {messages} sent in time")
    seconds = max((last - first).total_seconds(), 1e-3) if first and last else float("inf")
    return float(sent) / seconds


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit("the gateway simulator did not start")


# ---- the table -------------------------------------------------------------------------------


def _median_rps(results: list[Result], name: str) -> dict[str, float]:
    """Per database, the median requests per second of the runs of `name`."""
    runs: dict[str, list[float]] = {}
    for r in results:
        if r.name == name:
            runs.setdefault(r.database, []).append(r.rps)
    return {database: statistics.median(rps) for database, rps in runs.items()}


def gunicorn_workers() -> int:
    """How many workers gunicorn.conf.py gives each server here (WEB_CONCURRENCY included)."""
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return int(settings["workers"])


def render(
    results: list[Result],
    workers: list[tuple[str, int, float]],
    args: Any,
    elapsed: float,
    paced: list[float],
) -> str:
    hello = _median_rps(results, HELLO)
    tutorial = _median_rps(results, FLASKR)
    cores = len(os.sched_getaffinity(0))
    web_workers = gunicorn_workers()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    repeat, in_turns = "", ""
    if args.repeat > 1:
        repeat = f" --repeat {args.repeat}"
        in_turns = (
            f" Each GET's row is the median of its {args.repeat} runs (rps, p50 and p99 each; "
            "the errors of all), the endpoints of a server driven in turns; the POSTs run once."
        )
    lines = [
        f"`python -m bench.run --duration {args.duration} --scale {args.scale} "
        f"--databases {args.databases}{repeat}`: wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s on 127.0.0.1, gunicorn.conf.py ({web_workers} sync workers, "
        f"{cores} cores), `Accept-Encoding: gzip, br`; {stamp}, {elapsed / 60:.1f} min in all; "
        f"load average at the end {load:.1f}.{in_turns} × flaskr: each run of the cabinet's "
        "set against the Flask tutorial's index (on SQLite), served beside it and driven right "
        f"before and right after each group of {PACED} endpoints (the mean of the two runs "
        "around it; the tutorial's index made "
        f"{min(paced, default=0):.0f}–{max(paced, default=0):.0f} rps in those runs), the "
        "median of the ratios when an endpoint ran more than once. × hello-world, and × flaskr "
        "of the yardstick rows: to the median of the three yardstick runs around the same "
        "database's endpoints (before the cold ones, between the cold and the warm, after the "
        "warm).",
        "",
        "| endpoint | database | rps | p50, ms | p99, ms | errors | × hello-world | × flaskr |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        versus = tutorial.get(r.database)
        if r.to_flaskr is not None:
            to_tutorial = f"{r.to_flaskr:.2f}"
        else:
            to_tutorial = f"{r.rps / versus:.2f}" if versus else "—"
        lines.append(
            f"| {r.name} | {r.database} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | "
            f"{r.errors} | {r.rps / hello[r.database]:.2f} | {to_tutorial} |"
        )
    lines += [
        "",
        "| delivery worker (`flask invitations deliver --loop`) | database | messages/s |",
        "|---|---|---:|",
    ]
    for database, count, rate in workers:
        lines.append(f"| {count} process{'es' if count > 1 else ''} | {database} | {rate:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
