"""gunicorn's settings for the cabinet (`make serve`; docs/deploy.md).

Every value can be overridden from the environment without editing this file:
GUNICORN_BIND, WEB_CONCURRENCY, GUNICORN_TIMEOUT, GUNICORN_ACCESS_LOG; LOG_FORMAT and
PROMETHEUS_MULTIPROC_DIR as for the cabinet (docs/operations.md).

With TRUSTED_PROXIES > 0 gunicorn refuses to listen anywhere but loopback or a unix socket,
unless ALLOW_PUBLIC_BIND=1 says it is reachable by the proxy only (docs/deploy.md).
"""

from __future__ import annotations

import gc
import ipaddress
import os
from typing import Any

from gunicorn.glogging import Logger

from cabinet import logs, metrics

# Behind the proxy on the same host; the proxy terminates TLS (docs/deploy.md).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: each request is CPU (templates) plus short database round trips, so the
# classic 2 × cores + 1 keeps every core busy while some workers wait on the database.
# The proxy buffers slow clients, which is what sync workers need in front of them.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * _cores + 1))
worker_class = "sync"

# A request taking longer than this is stuck: its worker is killed and replaced.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM or SIGHUP a worker finishes its requests within this long before it is stopped.
graceful_timeout = 30
# No keep-alive towards the proxy: a sync worker closes the connection after each response
# (gunicorn ignores `keepalive` for it), so the proxy connects anew per request, over loopback.
# A worker class that keeps connections (gthread) was measured and not kept: a kept connection
# stays with one worker, and its requests wait behind that worker while another is idle
# (docs/performance.md).

# Graceful restarts: SIGHUP starts new workers with fresh code and retires the old ones after
# their current request. That needs the app loaded in each worker, not in the master.
preload_app = False
# Replace each worker now and then (staggered), so slow leaks cannot grow. Not too often: a new
# worker costs 0.75 s of CPU to load the app, and under load its requests wait meanwhile
# (every 5000 requests, `make bench` saw p99 jump from 25 ms to 1.6 s on one endpoint).
max_requests = 50000
max_requests_jitter = 5000

# The cabinet writes one line per request itself (cabinet/web/observability.py: path, status,
# bytes, duration, addresses, referer, browser, and the route and account), so gunicorn's own
# access line is off: it said the same again, at a second line's cost on every request.
# GUNICORN_ACCESS_LOG=- turns it on (stdout, in LOG_FORMAT, with the request id the cabinet
# answered with), e.g. to see what gunicorn refuses before the app sees it.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
_LOG_FORMAT = os.environ.get("LOG_FORMAT") or (
    "json" if os.environ.get("CABINET_ENV") == "production" else "text"
)


class CabinetLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger with the cabinet's formats and masking, and an access line of fields."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        logs.install_masking()
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(logs.formatter(_LOG_FORMAT))

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        fields = {
            "request_id": atoms.get("{x-request-id}o"),
            "remote": atoms["h"],
            "forwarded_for": atoms.get("{x-forwarded-for}i"),
            "method": atoms["m"],
            "path": environ.get("RAW_URI", atoms["U"]),
            "status": int(atoms["s"]),
            "bytes": atoms["B"],
            "duration_ms": round(atoms["D"] / 1000, 2),
            "referer": atoms["f"],
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info(
                "%s %s %s", fields["method"], fields["path"], fields["status"], extra=fields
            )
        except Exception:  # a line that cannot be written must not fail the request
            self.error_log.exception("access log line failed")


logger_class = CabinetLogger
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Large uploads are not part of the cabinet: refuse oversized request lines and headers early.
limit_request_line = 4094
limit_request_fields = 100
proc_name = "cabinet"
# Signals (HUP, TERM) are the interface; no control socket shared between instances on a host.
control_socket_disable = True


def public_binds(addresses: list[Any]) -> list[str]:
    """The addresses gunicorn would listen on that are neither loopback nor a unix socket
    (gunicorn's parsed `address`: (host, port), a socket path, or a file descriptor)."""
    public = []
    for address in addresses:
        if not isinstance(address, tuple):
            continue  # a unix socket path, or a descriptor handed over by systemd
        host = str(address[0]).strip("[]")
        if host == "localhost":
            continue
        try:
            if ipaddress.ip_address(host).is_loopback:
                continue
        except ValueError:
            pass  # a host name or "" (every interface): public
        public.append(f"{host or '0.0.0.0'}:{address[1]}")  # noqa: S104 - named, not bound
    return public


def on_starting(server: Any) -> None:
    """Refuse a public bind while X-Forwarded-For is believed: whoever reaches gunicorn directly
    could name any address in it, and every per-IP limit would count a new client each time."""
    trusted = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    if trusted > 0 and os.environ.get("ALLOW_PUBLIC_BIND") != "1":
        refuse_public_bind(server, trusted)
    # Prometheus' multiprocess mode (docs/operations.md): each worker writes its metrics to
    # files in PROMETHEUS_MULTIPROC_DIR, and /metrics sums them. At start the files of
    # processes no longer running are removed; a worker that exits stops counting in the
    # live gauges.
    directory = metrics.multiprocess_dir()
    if directory is not None:
        metrics.clean_directory(directory)
        server.log.info("metrics: multiprocess mode in %s", directory)


def refuse_public_bind(server: Any, trusted: int) -> None:
    public = public_binds(list(server.cfg.address))
    if public:
        raise RuntimeError(
            f"TRUSTED_PROXIES={trusted}: кабинет верит заголовку X-Forwarded-For, поэтому gunicorn "
            f"должен слушать только loopback (127.0.0.1) или unix-сокет, а не {', '.join(public)}: "
            "иначе клиент, обратившийся к gunicorn напрямую, подставит любой адрес и обойдет "
            "ограничения по IP. Если этот адрес доступен только прокси (частная сеть), задайте "
            "ALLOW_PUBLIC_BIND=1. Подробнее: docs/deploy.md."
        )


def post_worker_init(worker: Any) -> None:
    """The app is loaded: its 150 000 objects (modules, templates, the URL map, SQLAlchemy's
    tables) live as long as the worker. Moved out of the collector's reach, a full collection
    walks only what requests made since: 70 ms of a stalled request before, none after
    (docs/performance.md)."""
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    metrics.process_exited(worker.pid)
