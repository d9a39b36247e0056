"""Fixtures shared by every tier.

The database is picked by TEST_DATABASE_URL: unset, a SQLite file in the run's temp folder;
a PostgreSQL URL, a schema of its own in that database (dropped at the end). Either way the
schema is built by the migrations, exactly as `flask db upgrade` builds it.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from flask_migrate import upgrade
from hypothesis import HealthCheck, settings
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from cabinet import create_app
from cabinet.clock import Clock, Context, SettableClock, SystemClock
from cabinet.config import normalise_database_url
from cabinet.db import db
from tests.support import response_guard
from tests.support.moments import MOSCOW, msk

__all__ = ["MOSCOW", "msk"]  # their old home: tests written before tests/support/moments.py

# Properties are about results, not speed: on a machine busy with other work an example may
# take longer than hypothesis' 200 ms deadline, or its data longer to draw, and that is no
# failure of the code (benchmarks live in bench/). Every @settings in the suite builds on this.
settings.register_profile(
    "cabinet", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("cabinet")
FAST_PASSWORD_HASHING = "pbkdf2:sha256:1"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'cabinet.sqlite3'}"
        return
    schema = f"cabinet_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_database_url(url))
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    # A test database need not survive a power cut: commits don't wait for the disk.
    options = f"-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    yield f"{url}{separator}options={options}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(scope="session")
def clock() -> SettableClock:
    return SettableClock(msk("2023-03-31 12:00"))


@pytest.fixture(scope="session")
def app(database_url: str, clock: SettableClock) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "SECRET_KEY": "test-secret-key-that-is-long-enough-000",
            "CABINET_TIMEZONE": "Europe/Moscow",
            # One app serves every test: its limits must not trip across them (the limits have
            # their own tests, each with an app of its own: tests/security/test_limits.py).
            "INVITE_RATE_LIMIT": "10000 per minute",
            # Hundreds of accounts are made and signed in: scrypt would cost ~0.1 s each.
            # Production is always scrypt (tests/unit/test_config.py proves it).
            "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASHING,
            "INVITE_MEMBER_RATE_LIMIT": "10000 per minute",
            "INVITE_RECIPIENT_RATE_LIMIT": "10000 per minute",
            "APPLY_CODE_FAILURE_LIMIT": "10000 per minute",
            "APPLY_CODE_IP_FAILURE_LIMIT": "10000 per minute",
            "LOGIN_ACCOUNT_FAILURE_LIMIT": "10000 per minute",
            "LOGIN_IP_FAILURE_LIMIT": "10000 per minute",
            "LOGIN_ACCOUNT_CEILING_LIMIT": "10000 per minute",
            "PERSONAL_LINK_MISS_LIMIT": "10000 per minute",
            "REFUSAL_LINK_MISS_LIMIT": "10000 per minute",
        },
        clock=clock,
    )
    app.test_client_class = ReadableClient
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_app(app: Flask) -> Iterator[Callable[..., Flask]]:
    """Another app on the test database, with other settings (and a clock of its own, when
    given: the system's otherwise); its connections closed after."""
    made: list[Flask] = []

    def make(*, clock: Clock | None = None, **settings: Any) -> Flask:
        other = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                "SECRET_KEY": "another-test-secret-key-long-enough",
                **settings,
            },
            clock=clock,
        )
        other.test_client_class = ReadableClient
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def database(app: Flask, clock: SettableClock) -> Iterator[None]:
    """An empty database (schema kept) and the clock back at 31.03.2023 12:00."""
    clock.set(msk("2023-03-31 12:00"))
    with app.app_context():
        empty_tables()
    yield


def empty_tables() -> None:
    """Every row gone but version 1 of the terms (the migration's, like the schema)."""
    db.session.rollback()
    for table in reversed(db.metadata.sorted_tables):  # children before parents
        if table.name == "program_terms":
            db.session.execute(table.delete().where(table.c.id != 1))
        else:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture
def ctx(app: Flask, database: None) -> Iterator[Flask]:
    """An app context for service tests."""
    with app.app_context():
        yield app
        db.session.remove()


def live_program(app: Flask) -> Context:
    """The app's program on the wall clock: workers and concurrent writers read real time."""
    context: Context = app.extensions["context"]
    return Context(SystemClock(), context.timezone, context.random_bytes)


@pytest.fixture
def context(app: Flask) -> Context:
    context: Context = app.extensions["context"]
    return context


class ReadableResponse(TestResponse):
    """A response whose text reads with plain spaces. The pages bind words with non-breaking
    spaces (Russian typography, tests/web/test_typography.py checks them); other tests look for
    words and phrases."""

    def get_data(self, as_text: bool = False) -> Any:
        data = super().get_data(as_text)
        return data.replace("\u00a0", " ") if as_text else data


class ReadableClient(FlaskClient):
    """The test client of every app the tests make. Each HTML response it receives passes the
    response guard (tests/support/response_guard.py) or fails the test that received it."""

    def __init__(self, app: Flask, response_wrapper: Any = None, **kwargs: Any) -> None:
        wrapper = type("Response", (ReadableResponse, app.response_class), {})
        super().__init__(app, wrapper, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        # (a compressed body is the same page another request reads uncompressed)
        if response.mimetype == "text/html" and "Content-Encoding" not in response.headers:
            response_guard.check(response.get_data(as_text=True), response.request.path)
        return response


@pytest.fixture
def client(app: Flask, database: None) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask, database: None) -> FlaskCliRunner:
    return app.test_cli_runner()


def output_dir() -> Path:
    """Where tests leave what a person may want to look at (screenshots)."""
    path = Path(os.environ.get("TEST_OUTPUT_DIR", "test-output"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session", autouse=True)
def reliability_figures() -> Iterator[None]:
    """The figures the attack and fault tests record, for docs/reliability.md
    (`make reliability` renders them)."""
    yield
    from tests.security import figures

    if os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a worker saw only part of the run; `make reliability` runs on one process
    if figures.FIGURES["attack"]["requests"] or figures.FIGURES["faults"]:
        url = os.environ.get("TEST_DATABASE_URL", "")
        figures.write("postgresql" if url.startswith("postgres") else "sqlite")


@pytest.fixture(scope="session", autouse=True)
def no_contact_in_the_logs() -> Iterator[None]:
    """Every line logged during the run, searched for an unmasked contact (tests/log_audit.py)."""
    from tests.log_audit import Audit

    audit = Audit()
    logging.getLogger().addHandler(audit)
    yield
    logging.getLogger().removeHandler(audit)
    if audit.offending:
        pytest.fail(
            f"{len(audit.offending)} log line(s) with an unmasked contact, of {audit.lines}:\n"
            + "\n".join(audit.offending)
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests marked slow first: on several workers (`make test`), the longest ones start at
    once instead of being left to one worker at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
