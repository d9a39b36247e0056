"""SQLite writers take turns in the kernel (cabinet.db.WriterQueue), not in SQLite's sleeps."""

from __future__ import annotations

import multiprocessing
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


def test_a_turn_inside_a_turn_does_not_wait_for_itself(tmp_path: Path) -> None:
    queue = WriterQueue(str(tmp_path / "cabinet.sqlite3"), timeout_seconds=30)
    with queue.turn(), queue.turn():
        pass
    with queue.turn():  # and the turn was given back
        pass


def _hold(queue: WriterQueue, taken: multiprocessing.synchronize.Event, seconds: float) -> None:
    with queue.turn():
        taken.set()
        time.sleep(seconds)


def test_another_process_waits_for_the_turn_and_gets_it_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "cabinet.sqlite3")
    queue = WriterQueue(path, timeout_seconds=30)
    with queue.turn():  # the file is opened in this process before the fork: the forked
        pass  # child, with the same queue, must open its own (a shared one shares the lock)
    taken = multiprocessing.get_context("fork").Event()
    holder = multiprocessing.get_context("fork").Process(target=_hold, args=(queue, taken, 0.3))
    holder.start()
    try:
        assert taken.wait(10)
        started = time.monotonic()
        with queue.turn():
            waited = time.monotonic() - started
        holder.join(10)
        assert 0.2 < waited < 2.0  # it waited for the holder, not for a sleep of its own
    finally:
        holder.join(10)
