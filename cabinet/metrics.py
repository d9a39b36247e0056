"""Prometheus metrics: every series the cabinet exports, defined once (docs/operations.md).

The values live in this process (development, tests) or, with `PROMETHEUS_MULTIPROC_DIR` set
before the process starts (gunicorn, the delivery worker), in files of that directory that
`/metrics` sums over every process (prometheus-client's multiprocess mode). The mode is chosen
when this module is imported, from the environment, as prometheus-client requires.

Counters are counted where the fact becomes true: a request when it is answered, an applied
code or an invitation's change of state when its transaction commits (cabinet/observability.py),
a refused code when the refusal is raised, a limit when Flask-Limiter says it is breached.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# No `*_created` series: the multiprocess mode has none, and both modes export the same names.
disable_created_metrics()  # type: ignore[no-untyped-call]

if os.environ.get(MULTIPROC_ENV):
    # The values below are files there from the first metric on: the directory must exist.
    Path(os.environ[MULTIPROC_ENV]).mkdir(parents=True, exist_ok=True)

# Seconds; a page is ≈5–30 ms, a slow database or a gateway call much more.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "cabinet_http_request_duration_seconds",
    "Time to answer a request, by Flask endpoint (never the raw path) and status class.",
    ["endpoint", "method", "status_class"],
    buckets=LATENCY_BUCKETS,
)
CODES_APPLIED = Counter(
    "cabinet_referral_codes_applied",
    "Invitation codes applied (a referral row committed).",
)
CODES_REFUSED = Counter(
    "cabinet_referral_codes_refused",
    "Invitation codes refused, by reason (the refusal's class in cabinet/referrals/errors.py).",
    ["reason"],
)
INVITATIONS = Counter(
    "cabinet_invitations",
    "Invitations by channel and event: queued (stored in the outbox), sent (handed to the "
    "gateway, once per attempt), delivered (accepted by the gateway), failed (given up).",
    ["channel", "event"],
)
LIMITS_HIT = Counter(
    "cabinet_limits_hit",
    "Requests refused by a request limit (429), by the limit's name (cabinet/limits.py).",
    ["limit"],
)
LIMITS_STORAGE_FALLBACKS = Counter(
    "cabinet_limits_storage_fallbacks",
    "Times a process found Redis unreachable and began counting its limits in memory.",
)
DELIVERY_PASSES = Counter(
    "cabinet_delivery_passes",
    "Passes of the invitation delivery worker, by whether they found work.",
    ["result"],
)
DB_POOL_CHECKED_OUT = Gauge(
    "cabinet_db_pool_checked_out",
    "Database connections in use (checked out of the pool), summed over live processes.",
    multiprocess_mode="livesum",
)
DB_POOL_SIZE = Gauge(
    "cabinet_db_pool_size",
    "Connections each pool keeps (SQLAlchemy pool_size), summed over live processes.",
    multiprocess_mode="livesum",
)

INVITATION_EVENTS = ("queued", "sent", "delivered", "failed")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def status_class(status: int) -> str:
    return f"{status // 100}xx"


def exposition(extra: Iterable[Collector] = ()) -> bytes:
    """The text format of every series: summed over the processes' files in multiprocess mode,
    this process's registry otherwise; `extra` collectors (read at scrape time) after them."""
    registry = CollectorRegistry(auto_describe=False)
    directory = multiprocess_dir()
    if directory is not None:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    else:
        registry.register(_Forward(REGISTRY))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


class _Forward(Collector):
    """This process's own registry, as one collector of the scrape's registry."""

    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[object]:  # type: ignore[override]
        yield from self.source.collect()


def clean_directory(directory: str) -> None:
    """At the server's start: the files of processes no longer running are removed (a
    restart begins the counters again, which Prometheus reads as a reset); the files of a
    running process (the delivery worker sharing the directory) stay."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for file in path.glob("*.db"):
        pid = file.stem.rsplit("_", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            file.unlink(missing_ok=True)


def process_exited(pid: int) -> None:
    """A worker process is gone: its live gauges stop counting (gunicorn's child_exit)."""
    directory = multiprocess_dir()
    if directory is not None:
        mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
