"""SQLite writers take turns in the kernel (cabinet.db.WriterQueue), not in SQLite's sleeps."""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time
from pathlib import Path

from cabinet.db import WriterQueue


def test_threads_write_one_at_a_time(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "cabinet.sqlite3"), timeout_seconds=30)
    inside: list[int] = []
    most = [0]

    def write() -> None:
        for _ in range(20):
            with queue.turn():
                inside.append(1)
                most[0] = max(most[0], len(inside))
                time.sleep(0.0005)
                inside.pop()

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1


def held_elsewhere(queue: WriterQueue) -> bool:
    """Whether the queue's lock is held, as another open file of it sees (without waiting)."""
    other = os.open(queue.path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(other)  # (closing it gives back a lock it took)
    return False


def test_a_turn_inside_a_turn_does_not_wait_for_itself(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "cabinet.sqlite3"), timeout_seconds=30)
    inner = []
    with queue.turn():
        with queue.turn():
            inner.append(held_elsewhere(queue))
        inner.append(held_elsewhere(queue))  # the inner turn left the outer one's lock alone
    assert inner == [True, True]
    assert not held_elsewhere(queue)  # and the turn was given back
    taken = threading.Event()

    def other_thread() -> None:
        with queue.turn():
            taken.set()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(30)
    assert taken.is_set()


def _hold(
    queue: WriterQueue,
    taken: multiprocessing.synchronize.Event,
    go: multiprocessing.synchronize.Event,
    releasing: multiprocessing.synchronize.Event,
) -> None:
    with queue.turn():
        taken.set()
        go.wait(30)
        releasing.set()  # still holding: whoever gets the turn next must see this set


def test_another_process_waits_for_the_turn_and_gets_it(tmp_path: Path) -> None:
    path = str(tmp_path / "cabinet.sqlite3")
    queue = WriterQueue(path, timeout_seconds=30)
    with queue.turn():  # the file is opened in this process before the fork: the forked
        pass  # child, with the same queue, must open its own (a shared one shares the lock)
    fork = multiprocessing.get_context("fork")
    taken, go, releasing = fork.Event(), fork.Event(), fork.Event()
    holder = fork.Process(target=_hold, args=(queue, taken, go, releasing))
    holder.start()
    try:
        assert taken.wait(30)
        trying = threading.Event()
        seen_on_entry: list[bool] = []

        def wait_for_the_turn() -> None:
            trying.set()
            with queue.turn():
                seen_on_entry.append(releasing.is_set())

        waiter = threading.Thread(target=wait_for_the_turn)
        waiter.start()
        assert trying.wait(30)
        assert held_elsewhere(queue) and not seen_on_entry  # the holder still has it
        go.set()
        waiter.join(30)
        # It got the turn, and only once the holder was giving it back.
        assert seen_on_entry == [True]
    finally:
        go.set()
        holder.join(30)
