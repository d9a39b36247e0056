"""Conditional requests and the cache of rendered answers, named by what they show.

An answer (a page, a fragment, a JSON body) is named by a key made of everything its content
depends on: the release (templates and code), the URL, whether htmx asked for a fragment, the
caller's `parts` (the member's change stamps — cabinet/stamps.py —, the session's identity, its
CSRF token …) and the minute of the clock. Its strong ETag is a digest of that key, so:

* a request whose `If-None-Match` names the key gets `304 Not Modified` without rendering;
* otherwise the rendered body kept under the key (Redis when configured, shared by every worker
  and host; else a bounded in-process LRU) is sent without rendering;
* otherwise it is rendered, and kept.

Time: a text that depends on the clock («действует» / «завершена») is the same for the whole
minute unless a moment the answer compares the clock with (a grant's end, a deadline, a version's
start — `note_moments`) falls inside that minute; then the answer gets no ETag and is not kept.
An answer rendered across the turn of a minute is not kept either.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Protocol

from flask import Flask, Response, current_app, g, request
from redis import Redis
from redis.exceptions import RedisError

CACHE_CONTROL = "private, no-cache"
# In a request's WSGI environ: the key its answer was named and kept by (the revisit gate keeps
# the whole answer Flask sent under it, cabinet/revisits).
NAMED = "cabinet.named"
MINUTE = timedelta(minutes=1)
TTL_SECONDS = 120  # a key names one minute: two are plenty
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
# The settings a page or an answer shows
SETTINGS = ("CABINET_BASE_URL", "PAGE_SIZE", "SMS_OPTIONS_URL", "DEMO_MODE", "CABINET_TIMEZONE")


class Store(Protocol):
    def get(self, key: str) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> bool: ...


class MemoryStore:
    """An LRU of at most `max_bytes` of bodies, in this process."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def set(self, key: str, value: bytes) -> bool:
        """Kept, or False: too big for the whole store."""
        if len(value) > self.max_bytes:
            return False
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= len(old)
            self._items[key] = value
            self.size += len(value)
            while self.size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self.size -= len(dropped)
        return True

    def __len__(self) -> int:
        return len(self._items)


class RedisStore:
    """Bodies in Redis, kept TTL_SECONDS (Redis's own `maxmemory` bounds the whole), and the
    ones this process set or read in a MemoryStore of its own. Redis down is a miss, never an
    error: the answer is rendered, and Redis is left alone for RETRY_SECONDS (a request does not
    wait for its timeout twice)."""

    RETRY_SECONDS = 5.0

    def __init__(self, url: str, prefix: str, timeout_seconds: float, near_bytes: int) -> None:
        self.redis = Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        self.prefix = prefix
        self._down_until = 0.0
        # A key names one content for good (what it shows, the minute): a copy kept in this
        # process is never stale, and spares Redis's round trip on the next read here.
        self.near = MemoryStore(near_bytes)

    def get(self, key: str) -> bytes | None:
        value = self.near.get(key)
        if value is not None:
            return value
        if time.monotonic() < self._down_until:
            return None
        try:
            found = self.redis.get(self.prefix + key)
        except RedisError:
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            return None
        if not isinstance(found, bytes):
            return None
        self.near.set(key, found)
        return found

    def set(self, key: str, value: bytes) -> bool:
        """Kept, or False: Redis did not answer."""
        self.near.set(key, value)
        if time.monotonic() < self._down_until:
            return False
        try:
            self.redis.set(self.prefix + key, value, ex=TTL_SECONDS)
        except RedisError:
            self._down_until = time.monotonic() + self.RETRY_SECONDS
            return False
        return True


def init_app(app: Flask) -> None:
    url = str(app.config.get("FRAGMENT_CACHE_URL") or "")
    if not url:  # the limiter's Redis, when there is one
        limits_url = str(app.config.get("RATELIMIT_STORAGE_URI", ""))
        url = limits_url if limits_url.startswith(REDIS_SCHEMES) else "memory://"
    store: Store
    if url.startswith(REDIS_SCHEMES):
        prefix = f"{app.config.get('RATELIMIT_KEY_PREFIX', 'cabinet')}:fragment:"
        timeout = float(app.config["RATELIMIT_REDIS_TIMEOUT_SECONDS"])
        store = RedisStore(url, prefix, timeout, int(app.config["FRAGMENT_CACHE_BYTES"]))
    else:
        store = MemoryStore(int(app.config["FRAGMENT_CACHE_BYTES"]))
    app.extensions["fragment_cache"] = store


def store(app: Flask | None = None) -> Store:
    """The app's cache of answers (the current app's, unless given one)."""
    found: Store = (app or current_app).extensions["fragment_cache"]
    return found


def note_moments(*moments: datetime | None) -> None:
    """Moments the answer being rendered compares the clock with."""
    noted: list[datetime] | None = g.get("conditional_moments")
    if noted is not None:
        noted.extend(m for m in moments if m is not None)


def answer(
    kind: str,
    parts: Iterable[object],
    render: Callable[[], Response],
    clock: Callable[[], datetime],
) -> Response:
    """The answer named by `parts` and the minute: 304, the kept body, or `render()` (kept)."""
    now = clock()
    minute = now.replace(second=0, microsecond=0)
    key = key_of(kind, parts, minute, request.script_root, request.full_path, current_app.config)
    tag = tag_of(key)
    matched = matched_tag(request.headers.get("If-None-Match"), tag)
    if matched is not None:
        return not_modified(matched)
    kept = store().get(key)
    if kept is not None:
        mimetype, _, body = kept.partition(b"\n")
        response = Response(body, 200, mimetype=mimetype.decode())
        response.vary.add("HX-Request")
        request.environ[NAMED] = key
        return _named(response, tag)
    g.conditional_moments = []
    response = render()
    moments: list[datetime] = g.pop("conditional_moments")
    end = minute + MINUTE
    steady = not any(minute <= moment < end for moment in moments)
    if (
        response.status_code != 200
        or response.direct_passthrough
        or not steady
        or clock().replace(second=0, microsecond=0) != minute
    ):
        return response
    store().set(key, (response.mimetype or "").encode() + b"\n" + response.get_data())
    request.environ[NAMED] = key
    return _named(response, tag)


def key_of(
    kind: str,
    parts: Iterable[object],
    minute: datetime,
    script_root: str,
    full_path: str,
    config: Mapping[str, Any],
) -> str:
    """The name of an answer: what it shows (`parts`), where (the URL), when (the minute), and
    the release and settings it was made with. The revisit gate (cabinet/revisits)
    names a request by this same function before Flask sees it."""
    digest = _seeded(repr(tuple(config.get(name) for name in SETTINGS))).copy()
    for part in (kind, script_root, full_path, minute.isoformat(), *parts):
        digest.update(b"\x1f" + repr(part).encode())
    named: str = digest.hexdigest()
    return named


@lru_cache(maxsize=16)
def _seeded(settings: str) -> Any:
    """The digest fed with the release and the settings (copied for every key)."""
    digest = hashlib.sha256(release().encode())
    digest.update(b"\x1f" + settings.encode())
    return digest


def tag_of(key: str) -> str:
    return f'"{key[:40]}"'


def matched_tag(header: str | None, tag: str) -> str | None:
    """The tag as the client sent it in `If-None-Match` (Flask-Compress adds `:br` or `:gzip`
    to a strong ETag of a compressed body), when it names this key."""
    if not header:
        return None
    bare = tag[1:-1]
    for candidate in header.split(","):
        sent = candidate.strip()
        if sent.startswith("W/"):
            continue
        value = sent[1:-1] if len(sent) >= 2 and sent[0] == sent[-1] == '"' else ""
        if value == bare or value.partition(":")[0] == bare:
            return sent
    return None


def _named(response: Response, tag: str) -> Response:
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def not_modified(tag: str) -> Response:
    response = Response(status=304, headers=not_modified_headers(tag))
    del response.headers["Content-Type"]  # a 304 has no body
    return response


def not_modified_headers(tag: str, *vary: str) -> list[tuple[str, str]]:
    """A 304's headers: what it varies on (also `vary`), its name, how it may be kept."""
    return [
        ("Vary", ", ".join(("HX-Request", "Accept-Encoding", *vary))),
        ("ETag", tag),
        ("Cache-Control", CACHE_CONTROL),
    ]


@cache
def release() -> str:
    """A digest of the code, the templates and the migrations: a new release never answers with
    old keys (a migration may change rows without a session, so without the stamps)."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    folders = (
        (root, "*.py"),
        (root.parent / "templates", "*.html"),
        (root.parent / "migrations", "*.py"),
    )
    for folder, pattern in folders:
        for path in sorted(folder.rglob(pattern)):
            digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
