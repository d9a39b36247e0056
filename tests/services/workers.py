"""Code run in other processes by the concurrency tests.

The processes are forked from a fresh server process (multiprocessing's `forkserver`) that
imported this module first; importing it loads all of the app's code, so each process starts
with it instead of spending a second or two importing it again.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import ForkServerContext
from multiprocessing.synchronize import Barrier
from typing import Any

from cabinet import create_app


def _load_the_apps_code() -> None:
    # create_app imports the blueprints, models and commands it registers.
    create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x" * 40})


_load_the_apps_code()


def processes() -> ForkServerContext:
    """Processes with nothing of the test's own (threads, connections), started fast."""
    context = multiprocessing.get_context("forkserver")
    assert isinstance(context, ForkServerContext)
    context.set_forkserver_preload([__name__])
    return context


def apply_code(
    database_url: str, client_id: int, code: str | None, barrier: Barrier, out: Any
) -> None:
    """A separate process with its own app and connection: wait for the others, then join."""
    from cabinet.errors import ProgramRefusal
    from cabinet.referrals import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x" * 40})
    with app.app_context():
        barrier.wait(timeout=60)
        try:
            services.join(app.extensions["context"], client_id, code)
        except ProgramRefusal as refusal:
            out.put((client_id, type(refusal).__name__))
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            out.put((client_id, repr(exc)))
        else:
            out.put((client_id, "ok"))
