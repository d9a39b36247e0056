"""CPU per request, in process, for each endpoint of `make bench` (and a pyinstrument profile).

    python -m bench.profile [--scale bench] [--database sqlite|postgresql] [--requests 200]
                            [--profile "GET /referral"]

The same data and requests as bench/run.py, sent through Flask's test client: no server, no
network, so the numbers are the cabinet's own work. CPU time (process_time) is reported next to
wall time, so other programs on a busy machine do not inflate it. Statements per request are
counted too.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path

from sqlalchemy import event

from bench.run import (
    ETAG,
    SESSION_COOKIE,
    Endpoint,
    Request,
    app_env,
    endpoints,
    keeping_cookie,
    mix,
    prepare,
    prepared_database,
    warm_endpoints,
)


def main() -> int:
    parser = argparse.ArgumentParser(description="CPU per request")
    parser.add_argument("--scale", default="bench")
    parser.add_argument("--database", default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--profile", help="endpoint name fragment to profile with pyinstrument")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cabinet-profile-") as scratch:
        with prepared_database(args.database, args.postgres_url, Path(scratch)) as url:
            fixtures = prepare(url, args.scale, Path(scratch))
            os.environ.update(app_env(url))
            from cabinet import create_app
            from cabinet.db import db

            # Cold: nothing kept, every request renders; warm: the fragment cache (Redis).
            app = create_app({"FRAGMENT_CACHE_URL": "memory://", "FRAGMENT_CACHE_BYTES": 0})
            warm = create_app()
            with app.app_context():
                engine = db.engine
            statements = [0]

            def count(*_args: object) -> None:
                statements[0] += 1

            event.listen(engine, "before_cursor_execute", count)
            client = app.test_client(use_cookies=False)  # each request carries its own
            print("| endpoint | CPU ms/request | wall ms/request | statements | bytes |")
            print("|---|---:|---:|---:|---:|")
            for endpoint in [*endpoints(fixtures), mix(fixtures, False)]:
                measure(client, endpoint, args, statements)
            with warm.app_context():
                event.listen(db.engine, "before_cursor_execute", count)
            warm_client = warm.test_client(use_cookies=False)
            for endpoint in [*warm_endpoints(fixtures), mix(fixtures, True)]:
                measure(warm_client, with_etags(warm_client, endpoint), args, statements)
            for each in (app, warm):
                with each.app_context():
                    db.engine.dispose()
    return 0


def with_etags(client, endpoint: Endpoint) -> Endpoint:  # type: ignore[no-untyped-def]
    """`If-None-Match` placeholders (bench/run.py ETAG) replaced by the ETags of now."""
    resolved = []
    for r in endpoint.requests:
        if r.headers.get("If-None-Match") == ETAG:
            plain = {k: v for k, v in r.headers.items() if k != "If-None-Match"}
            tag = client.open(r.path, method=r.method, headers=plain).headers["ETag"]
            r = Request(r.method, r.path, {**plain, "If-None-Match": tag}, r.body)
        resolved.append(r)
    return Endpoint(endpoint.name, resolved, endpoint.warm_up)


def as_a_browser_sends_them(client, endpoint: Endpoint) -> list[Request]:  # type: ignore[no-untyped-def]
    """`endpoint`'s requests with the session cookie its first response set, as a browser
    keeps it (bench/run.py `keeping_cookie`)."""
    first = endpoint.requests[0]
    check = client.open(first.path, method=first.method, headers=first.headers)
    cookie = SimpleCookie(check.headers.get("Set-Cookie", "")).get(SESSION_COOKIE)
    return keeping_cookie(endpoint, cookie.value if cookie else None).requests


def measure(client, endpoint: Endpoint, args, statements: list[int]) -> None:  # type: ignore[no-untyped-def]
    n = min(args.requests, len(endpoint.requests) if not endpoint.warm_up else args.requests)
    requests = endpoint.requests

    def send(i: int) -> int:
        r = requests[i % len(requests)]
        response = client.open(r.path, method=r.method, headers=r.headers, data=r.body.encode())
        if response.status_code >= 400:
            raise SystemExit(f"{endpoint.name}: {response.status_code}")
        return len(response.get_data())

    if endpoint.warm_up:
        requests = as_a_browser_sends_them(client, endpoint)
        for i in range(5):
            send(i)
    start = 0
    profiler = None
    if args.profile and args.profile in endpoint.name:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    statements[0] = 0
    cpu, wall = time.process_time(), time.perf_counter()
    size = 0
    for i in range(start, start + n):
        size = send(i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    if profiler is not None:
        profiler.stop()
        print(
            profiler.output_text(
                unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))
            ),
            file=sys.stderr,
        )
    print(
        f"| {endpoint.name} | {1000 * cpu / n:.2f} | {1000 * wall / n:.2f} | "
        f"{statements[0] / n:.1f} | {size} |",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
