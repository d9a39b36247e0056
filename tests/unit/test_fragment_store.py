"""The stores of the fragment cache (cabinet/conditional.py): bounded in memory; Redis down is a
miss, never an error."""

from __future__ import annotations

import secrets
import socket

from cabinet.conditional import MemoryStore, RedisStore


def test_the_memory_store_keeps_at_most_its_bytes_dropping_the_least_recent() -> None:
    store = MemoryStore(max_bytes=10)
    store.set("a", b"1234")
    store.set("b", b"5678")
    assert store.get("a") == b"1234"  # now «b» is the least recently used
    store.set("c", b"90ab")
    assert store.get("b") is None
    assert store.get("a") == b"1234"
    assert store.get("c") == b"90ab"
    assert store.size <= 10
    store.set("big", b"x" * 11)  # more than the whole store: not kept, nothing dropped
    assert store.get("big") is None
    assert len(store) == 2


def test_a_store_of_no_bytes_keeps_nothing() -> None:
    store = MemoryStore(max_bytes=0)
    store.set("a", b"1")
    assert store.get("a") is None


def test_redis_down_is_a_miss_and_is_left_alone_for_a_while() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = RedisStore(f"redis://127.0.0.1:{port}/0", "test:", timeout_seconds=0.2, near_bytes=0)
    assert store.get("a") is None
    store.set("a", b"1")  # no error
    assert store._down_until > 0  # noqa: SLF001 - the next requests do not wait for it


def test_what_redis_gave_is_kept_near_and_redis_is_not_asked_again() -> None:
    """A key names one content for good, so this process's copy is as good as Redis's."""
    prefix = f"test-near-{secrets.token_hex(4)}:"
    shared = RedisStore("redis://127.0.0.1:6379/15", prefix, timeout_seconds=1, near_bytes=0)
    here = RedisStore("redis://127.0.0.1:6379/15", prefix, timeout_seconds=1, near_bytes=1024)
    try:
        assert shared.set("page", b"text/html\n<p>1</p>")
        assert here.get("page") == b"text/html\n<p>1</p>"  # from Redis
        shared.redis.delete(prefix + "page")
        assert shared.get("page") is None
        assert here.get("page") == b"text/html\n<p>1</p>"  # the near copy
    finally:
        shared.redis.delete(prefix + "page")
