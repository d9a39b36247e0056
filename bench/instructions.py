"""Instructions per request, counted by valgrind's callgrind: the same count for the same code
whatever else the machine is doing, so a change of a few per cent shows.

    python -m bench.instructions [--database postgresql|sqlite] [--requests 100]
                                 [--endpoints "full page;discount"]

CPU time on these virtual machines moves by a third between two runs of the same code
(docs/performance.md), so a change that saves 3 % cannot be told from noise by timing it. The
number of instructions the process executes can: the same code, data and requests give the
same count to a few hundredths of a per cent. Each endpoint's requests (those of
`python -m bench.profile`, cold: nothing kept) are sent through Flask's test client in a
process run under callgrind; a second process does everything but the measured requests, and
the difference, divided by the requests, is what one request costs. Instructions are not time
(a cache miss costs more than an addition), but a change that removes work removes
instructions. valgrind is Debian's package (`apt-get install valgrind`); about 2 minutes per
endpoint, two at a time.
"""

from __future__ import annotations

import argparse
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.profile import as_a_browser_sends_them
from bench.run import (
    ROOT,
    Endpoint,
    Fixtures,
    app_env,
    endpoints,
    prepare,
    prepared_database,
    say,
)

WARM_UP = 20  # requests of each endpoint before any is counted: caches filled, plans made
DEFAULT_ENDPOINTS = "login;full page;История скидок», first;discount`"


def main() -> int:
    parser = argparse.ArgumentParser(description="instructions per request (callgrind)")
    parser.add_argument("--database", default="postgresql")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument("--scale", default="bench")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP, help="requests of each GET before any is counted"
    )
    parser.add_argument(
        "--endpoints",
        default=DEFAULT_ENDPOINTS,
        help="fragments of endpoint names (bench/run.py), separated by «;», GETs only",
    )
    parser.add_argument(
        "--child", nargs=4, metavar=("FIXTURES", "ENDPOINT", "N", "WARM_UP"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        fixtures_file, endpoint, count, warm_up = args.child
        return child(Path(fixtures_file), endpoint, int(count), int(warm_up))
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install valgrind")
    with tempfile.TemporaryDirectory(prefix="cabinet-instructions-") as scratch:
        work = Path(scratch)
        with prepared_database(args.database, args.postgres_url, work) as url:
            fixtures = prepare(url, args.scale, work)
            chosen = chosen_endpoints(fixtures, args.endpoints)
            saved = work / "fixtures.pickle"
            saved.write_bytes(pickle.dumps((url, fixtures)))
            say(f"callgrind: {len(chosen) + 1} processes, two at a time")
            runs = [("", 0)] + [(e.name, args.requests) for e in chosen]
            with ThreadPoolExecutor(max_workers=2) as pool:
                counts = list(pool.map(lambda run: counted(saved, *run, args.warm_up, work), runs))
    base = counts[0][0]
    print(
        f"`python -m bench.instructions --database {args.database} --requests {args.requests}`: "
        f"instructions per request, cold (nothing kept), in one process through Flask's test "
        f"client; each endpoint's {args.requests} requests counted by callgrind, less a run "
        f"without them (each GET warmed up by {args.warm_up} requests in both).\n"
    )
    print("| endpoint | database | instructions per request, millions | bytes |")
    print("|---|---|---:|---:|")
    for endpoint, (total, size) in zip(chosen, counts[1:], strict=True):
        per_request = (total - base) / args.requests / 1e6
        print(f"| {endpoint.name} | {args.database} | {per_request:.2f} | {size} |")
    return 0


def chosen_endpoints(fixtures: Fixtures, wanted: str) -> list[Endpoint]:
    gets = [e for e in endpoints(fixtures) if all(r.method == "GET" for r in e.requests)]
    chosen = []
    for fragment in (part.strip() for part in wanted.split(";") if part.strip()):
        found = [e for e in gets if fragment in e.name]
        if not found:
            raise SystemExit(
                f"no GET endpoint matches {fragment!r}: " + "; ".join(e.name for e in gets)
            )
        chosen.extend(e for e in found if e not in chosen)
    return chosen


def counted(
    fixtures_file: Path, endpoint: str, count: int, warm_up: int, work: Path
) -> tuple[int, int]:
    """(instructions, bytes of the last response) of a child process under callgrind."""
    out = work / f"callgrind.{os.getpid()}.{abs(hash((endpoint, count)))}"
    completed = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            str(fixtures_file),
            endpoint,
            str(count),
            str(warm_up),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"^(?:summary|totals): (\d+)", out.read_text() if out.exists() else "", re.M)
    size = re.search(r"^bytes (\d+)$", completed.stdout, re.M)
    if completed.returncode != 0 or found is None:
        raise SystemExit(
            f"callgrind run of {endpoint or 'the base'} failed:\n{completed.stderr[-2000:]}"
        )
    return int(found.group(1)), int(size.group(1)) if size else 0


def child(fixtures_file: Path, name: str, count: int, warm_up: int) -> int:
    """Every chosen endpoint warmed up; then `count` requests of `name` (none for the base)."""
    url, fixtures = pickle.loads(fixtures_file.read_bytes())  # noqa: S301 - our own file
    os.environ.update(app_env(url))
    from cabinet import create_app

    app = create_app({"FRAGMENT_CACHE_URL": "memory://", "FRAGMENT_CACHE_BYTES": 0})
    client = app.test_client(use_cookies=False)
    prepared = {}
    for endpoint in endpoints(fixtures):
        if any(r.method != "GET" for r in endpoint.requests):
            continue
        requests = endpoint.requests
        if endpoint.warm_up:
            requests = as_a_browser_sends_them(client, endpoint)
        prepared[endpoint.name] = requests
        for i in range(warm_up):
            send(client, requests, i)
    size = 0
    for i in range(count):
        size = send(client, prepared[name], i)
    print(f"bytes {size}")
    return 0


def send(client, requests, i: int) -> int:  # type: ignore[no-untyped-def]
    r = requests[i % len(requests)]
    response = client.open(r.path, method=r.method, headers=r.headers)
    if response.status_code != 200:  # a redirect to the sign-in page is not the page
        raise SystemExit(f"{r.path}: {response.status_code}")
    return len(response.get_data())


if __name__ == "__main__":
    raise SystemExit(main())
