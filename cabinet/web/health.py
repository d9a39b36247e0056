"""Health checks for the process manager and the load balancer.

`/healthz` (liveness): the process answers; it touches nothing else, so a slow database never
gets a healthy worker restarted. `/readyz` (readiness): the database answers a query, so a
balancer sends no traffic to an instance that cannot serve it. When Redis (the limits' shared
counters) does not answer, the instance still serves — each process counts in its memory — and
`/readyz` says so on a second line, still 200: taking every instance out of the balancer for
Redis would stop everyone signing in.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from cabinet import limits
from cabinet.db import db

bp = Blueprint("health", __name__)


def _plain(body: str, status: int = 200) -> Response:
    return Response(body, status, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the worker is up."""
    return _plain("ok\n")


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: the database answers; a degraded dependency is named."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        current_app.logger.warning("readiness check failed: %s", error)
        db.session.rollback()
        return _plain("database unavailable\n", 503)
    finally:
        db.session.rollback()  # leave no transaction open between requests
    if limits.degraded():
        return _plain("ok\nrate limits: degraded (Redis unreachable, counted in memory)\n")
    return _plain("ok\n")
