"""A request that only reads runs its reads without a transaction on PostgreSQL (no BEGIN, no
ROLLBACK round trips); a write in the same request still gets a transaction of its own."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from cabinet.clients.models import Client
from cabinet.db import db, is_postgresql, read, reads_only, transaction
from tests.conftest import msk


def _autocommit() -> bool:
    driver = db.session.connection().connection.driver_connection
    return bool(driver.autocommit)  # type: ignore[union-attr]


@pytest.fixture
def postgresql(app: Flask) -> None:
    with app.app_context():
        if not is_postgresql():
            pytest.skip("PostgreSQL only: SQLite has no round trips to save")


@pytest.mark.usefixtures("postgresql", "database")
def test_reads_of_a_reading_request_run_without_a_transaction(app: Flask) -> None:
    with app.test_request_context("/referral"):
        reads_only()
        assert read(select(1)).scalar() == 1
        assert _autocommit()


@pytest.mark.usefixtures("postgresql", "database")
def test_other_requests_read_inside_a_transaction(app: Flask) -> None:
    with app.test_request_context("/referral/apply", method="POST"):
        assert read(select(1)).scalar() == 1
        assert not _autocommit()


@pytest.mark.usefixtures("postgresql", "database")
def test_a_write_in_a_reading_request_is_one_transaction(app: Flask) -> None:
    with app.test_request_context("/referral"):
        reads_only()
        read(select(1)).scalar()
        with pytest.raises(RuntimeError), transaction():
            assert not _autocommit()
            db.session.add(Client(id=9701, name="Клиент 9701", registered_at=msk("2023-03-20")))
            db.session.flush()
            raise RuntimeError("changed my mind")
        # Rolled back as a whole: nothing of it was committed statement by statement.
        assert read(select(Client.id).where(Client.id == 9701)).first() is None
