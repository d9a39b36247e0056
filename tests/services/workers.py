"""Code run in other processes by the concurrency tests (importable under `spawn`)."""

from __future__ import annotations

from multiprocessing.synchronize import Barrier
from typing import Any


def apply_code(
    database_url: str, client_id: int, code: str | None, barrier: Barrier, out: Any
) -> None:
    """A separate process with its own app and connection: wait for the others, then join."""
    from cabinet import create_app
    from cabinet.errors import ProgramRefusal
    from cabinet.referrals import services

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x" * 40})
    with app.app_context():
        barrier.wait(timeout=60)
        try:
            services.join(app.extensions["program"], client_id, code)
        except ProgramRefusal as refusal:
            out.put((client_id, type(refusal).__name__))
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            out.put((client_id, repr(exc)))
        else:
            out.put((client_id, "ok"))
