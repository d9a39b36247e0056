"""gunicorn.conf.py's worker hook: the loaded app leaves the collector's reach, so a full
collection does not walk it on the way of a request."""

from __future__ import annotations

import gc
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_freezes_what_it_loaded() -> None:
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    kept = [object() for _ in range(1000)]  # what a loaded app holds
    try:
        before = gc.get_freeze_count()
        config["post_worker_init"](None)
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()
