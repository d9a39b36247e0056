"""`make bench-scales`: the same reads on two program sizes, driven in pairs.

    python -m bench.scales [--scales bench,1m] [--database postgresql] [--repeat 3]

The issue's last target asks the ratios to hold «within 10 % at 1 000 000 clients». Two runs of
`make bench`, one per size, minutes apart, differ by more than that on these machines whatever
the size (docs/performance.md), and so do two runs seconds apart. Here the two sizes are
served at once, each by its own gunicorn on its own database (a PostgreSQL schema each) and its
own Redis database, and every endpoint is driven on both at the same time, each with half of
the connections: the two sides share every second of the machine, and the ratio of their rps
is the ratio of what a request costs on each, whatever the machine's minute. With both sides'
× flaskr measured against the same tutorial runs, it is the ratio of their × flaskr; the
table reports the median of `--repeat` such pairs. The reads of `make bench` (its GETs and the
invoice preview, a POST that writes nothing), cold (nothing kept) and warm (the kept body and
the 304), and the browsing mix; the two POSTs that write (an apply, an invitation) are left to
`make bench`: driven again, they would find their clients joined and their invitations sent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bench.run import (
    COLD,
    ETAG,
    ROOT,
    Endpoint,
    Result,
    app_env,
    drive,
    endpoints,
    gunicorn_workers,
    mix,
    prepare,
    prepared_database,
    say,
    server,
    warm_endpoints,
)

# Each size's limits and kept answers in a Redis database of its own: the two servers keep the
# same member's pages under the same names.
REDIS_DATABASES = (14, 13)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="make bench-scales")
    parser.add_argument("--scales", default="bench,1m", help="two bench/generate.py SCALES")
    parser.add_argument("--database", default="postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per endpoint")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs per endpoint")
    parser.add_argument("--pause-ms", type=int, default=0, help="a smoke run, not a measure")
    parser.add_argument(
        "--no-warm-up", dest="warm_up", action="store_false", help="skip the 1 s warm-up rounds"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results-scales.md")
    args = parser.parse_args(argv)
    scales = args.scales.split(",")
    if len(scales) != 2:
        parser.error("--scales names two sizes, the smaller first: bench,1m")
    started = time.monotonic()
    pairs: dict[str, list[tuple[Result, Result]]] = {}
    with tempfile.TemporaryDirectory(prefix="cabinet-scales-") as scratch, ExitStack() as stack:
        work = Path(scratch)
        envs, fixtures = [], []
        redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14").rsplit("/", 1)[0]
        for side, (scale, number) in enumerate(zip(scales, REDIS_DATABASES, strict=True)):
            place = work / f"{side}-{scale}"  # the same size twice: a check of the method
            place.mkdir()
            url = stack.enter_context(prepared_database(args.database, args.postgres_url, place))
            store = f"{redis}/{number}"
            fixtures.append(prepare(url, scale, place))
            envs.append({**app_env(url), "RATELIMIT_STORAGE_URI": store})
        for kind, extra in (("cold", COLD), ("warm", {})):
            sets = [
                [*endpoints(f), mix(f, False)]
                if kind == "cold"
                else [*warm_endpoints(f), mix(f, True)]
                for f in fixtures
            ]
            with ExitStack() as servers:
                bases = [
                    servers.enter_context(
                        server("wsgi:app", {**env, **extra}, work / f"{side}-{kind}.log")
                    )
                    for side, env in enumerate(envs)
                ]
                for turn in range(max(1, args.repeat)):
                    for small, large in zip(*sets, strict=True):
                        if not small.warm_up:
                            continue  # it writes: a second run would find its work done
                        run = _pair(bases, (small, large), turn % 2, args, work)
                        pairs.setdefault(small.name, []).append(run)
    elapsed = time.monotonic() - started
    table = render(pairs, scales, args, elapsed)
    print(table)
    args.output.write_text(table, encoding="utf-8")
    say(f"table written to {args.output} ({elapsed:.0f} s)")
    return 0


def _pair(
    bases: list[str], endpoints: tuple[Endpoint, Endpoint], first: int, args: Any, work: Path
) -> tuple[Result, Result]:
    """The endpoint on both sizes at the same time, each with half the connections: the two
    share every second of the machine, and each side's rps is what its requests cost in it.
    `first` is started a few milliseconds before the other: the same size on both sides once
    measured the second side 3 % faster (the median of the rows), perhaps for starting later,
    so the side started first alternates from turn to turn."""
    half = argparse.Namespace(**vars(args))
    half.connections = max(1, args.connections // 2)
    half.threads = min(args.threads, half.connections)
    # An endpoint driven with ETags waits for a fresh minute (run.with_etags); both wait here,
    # so neither side starts alone.
    left = 60 - time.time() % 60
    if any(ETAG in r.headers.values() for r in endpoints[0].requests) and left < args.duration + 6:
        time.sleep(left + 0.5)
    for side in (0, 1):
        (work / str(side)).mkdir(exist_ok=True)
    with ThreadPoolExecutor(2) as both:
        done = dict(
            zip(
                (first, 1 - first),
                both.map(
                    lambda side: drive(
                        bases[side], endpoints[side], args.database, half, work / str(side)
                    ),
                    (first, 1 - first),
                ),
                strict=True,
            )
        )
    return done[0], done[1]


def render(
    pairs: dict[str, list[tuple[Result, Result]]], scales: list[str], args: Any, elapsed: float
) -> str:
    small, large = scales
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    cores = len(os.sched_getaffinity(0))
    lines = [
        f"`python -m bench.scales --scales {args.scales} --database {args.database} --duration "
        f"{args.duration} --repeat {args.repeat}`: wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration}s on 127.0.0.1, gunicorn.conf.py ({gunicorn_workers()} sync workers, "
        f"{cores} cores) for each size, both served at once; {stamp}, {elapsed / 60:.1f} min in "
        f"all. Each endpoint driven {args.repeat} times on both sizes at the same time, each "
        f"with {max(1, args.connections // 2)} of the {args.connections} connections; rps and "
        f"p99 are the medians of the runs, «{large} ÷ {small}» the median of the pairs' ratios "
        "of rps.",
        "",
        f"| endpoint | rps, {small} | rps, {large} | p99 ms, {small} | p99 ms, {large} | "
        f"errors | {large} ÷ {small} | pairs' ratios |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, runs in pairs.items():
        ratios = [b.rps / a.rps for a, b in runs]
        lines.append(
            f"| {name} | {statistics.median(a.rps for a, _ in runs):.0f} | "
            f"{statistics.median(b.rps for _, b in runs):.0f} | "
            f"{statistics.median(a.p99_ms for a, _ in runs):.1f} | "
            f"{statistics.median(b.p99_ms for _, b in runs):.1f} | "
            f"{sum(a.errors + b.errors for a, b in runs)} | {statistics.median(ratios):.2f} | "
            f"{', '.join(f'{r:.2f}' for r in ratios)} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
