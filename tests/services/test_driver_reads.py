"""A select read again runs on the driver's cursor (cabinet/driver.py): the same rows, the same
Python values, as SQLAlchemy's execution gives; what it cannot take goes through SQLAlchemy;
a failure is SQLAlchemy's error, and a connection the server dropped is replaced."""

from __future__ import annotations

from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import bindparam, exc, func, literal, null, select, text, union_all

from cabinet import driver
from cabinet.clients.models import Client
from cabinet.db import UTCDateTime, db, is_postgresql, read
from cabinet.driver import PLANS
from tests.conftest import msk
from tests.support.statements import queries, recorded

pytestmark = pytest.mark.usefixtures("database")

_BY_ID = (
    select(Client.id, Client.name, Client.registered_at, Client.promo_until)
    .where(Client.id == bindparam("client_id"))
    .order_by(Client.id)
)
_SINCE = union_all(
    select(literal(0).label("kind"), Client.id, Client.registered_at.label("moment")).where(
        Client.registered_at >= bindparam("since", type_=UTCDateTime())
    ),
    select(literal(1), func.count(), null()).select_from(Client),
)


def _add(client_id: int, registered: str, promo: str | None = None) -> None:
    db.session.add(
        Client(
            id=client_id,
            name=f"ООО «Клиент {client_id}»",
            registered_at=msk(registered),
            promo_until=msk(promo) if promo else None,
        )
    )
    db.session.commit()


def test_a_statement_read_again_gives_what_sqlalchemy_gave(app: Flask) -> None:
    with app.app_context():
        _add(9801, "2023-03-20 10:15", "2023-04-20 00:00")
        first = read(_BY_ID, {"client_id": 9801}).all()  # SQLAlchemy's execution
        assert PLANS.plan(_BY_ID, db.engine.dialect) is None
        second = read(_BY_ID, {"client_id": 9801}).all()  # SQLAlchemy's, then planned
        assert PLANS.plan(_BY_ID, db.engine.dialect) is not None
        third = read(_BY_ID, {"client_id": 9801}).all()  # the driver's cursor
        assert first == second == third
        row = third[0]
        assert (row.id, row.name) == (9801, "ООО «Клиент 9801»")
        assert row.registered_at == msk("2023-03-20 10:15")
        assert isinstance(row.registered_at, datetime)
        assert row.registered_at.utcoffset() is not None  # aware, in UTC, as UTCDateTime gives
        assert row.promo_until == msk("2023-04-20 00:00")
        assert read(_BY_ID, {"client_id": 9802}).first() is None
        assert read(_BY_ID, {"client_id": 9801}).scalar() == 9801


def test_a_moment_bound_and_a_union_with_a_constant_and_a_count(app: Flask) -> None:
    with app.app_context():
        _add(9811, "2023-03-01 09:00")
        _add(9812, "2023-03-25 09:00")
        since = {"since": msk("2023-03-10 00:00")}
        answers = [read(_SINCE, since).all() for _ in range(3)]
        assert PLANS.plan(_SINCE, db.engine.dialect) is not None
        assert answers[0] == answers[1] == answers[2]
        kinds = sorted(tuple(row) for row in answers[2])
        assert kinds == [(0, 9812, msk("2023-03-25 09:00")), (1, 2, None)]
        assert [row.kind for row in answers[2]] == [row[0] for row in answers[2]]


def test_the_engine_listeners_count_a_planned_statement(app: Flask) -> None:
    with app.app_context():
        _planned_with(9821)
        with recorded(app) as statements:
            assert read(_BY_ID, {"client_id": 9821}).scalar() == 9821
        assert len(queries(statements)) == 1
        assert statements[-1][1] in ({"client_id": 9821}, (9821,))


def test_a_one_off_statement_and_an_expanded_list_go_through_sqlalchemy(app: Flask) -> None:
    with app.app_context():
        _add(9831, "2023-03-20 10:15")
        _add(9832, "2023-03-20 10:15")
        for _ in range(3):
            one_off = select(Client.id).where(Client.id == 9831)
            assert read(one_off).scalar() == 9831
            assert PLANS.plan(one_off, db.engine.dialect) is None
        listed = select(Client.id).where(Client.id.in_(bindparam("ids", expanding=True)))
        for ids in ([9831], [9831, 9832], [9832]):
            assert sorted(read(listed, {"ids": ids}).scalars()) == ids
        assert PLANS.plan(listed, db.engine.dialect) is None


def test_a_statement_that_cannot_be_planned_is_tried_once(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    tried: list[object] = []
    plan_of = driver._plan_of

    def counted(statement: object, *args: object) -> object:
        tried.append(statement)
        return plan_of(statement, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(driver, "_plan_of", counted)
    listed = select(Client.id).where(Client.id.in_(bindparam("ids", expanding=True)))
    with app.app_context():
        _add(9861, "2023-03-20 10:15")
        for _ in range(5):
            assert list(read(listed, {"ids": [9861]}).scalars()) == [9861]
    assert tried == [listed]


@pytest.fixture
def postgresql(app: Flask) -> None:
    with app.app_context():
        if not is_postgresql():
            pytest.skip("PostgreSQL only: SQLite takes any value for an integer")


def _planned_with(client_id: int) -> None:
    """Client `client_id` added and `_BY_ID` read twice: its next read runs on the driver."""
    _add(client_id, "2023-03-20 10:15")
    for _ in range(2):
        read(_BY_ID, {"client_id": client_id})
    assert PLANS.plan(_BY_ID, db.engine.dialect) is not None


@pytest.mark.usefixtures("postgresql")
def test_a_failed_planned_statement_raises_sqlalchemys_error(app: Flask) -> None:
    with app.app_context():
        _planned_with(9841)
        with pytest.raises(exc.DBAPIError) as raised:
            read(_BY_ID, {"client_id": "не число"})
        assert not raised.value.connection_invalidated
        db.session.rollback()
        assert read(_BY_ID, {"client_id": 9841}).scalar() == 9841


@pytest.mark.usefixtures("postgresql")
def test_a_connection_the_server_dropped_is_replaced(app: Flask) -> None:
    with app.app_context():
        _planned_with(9851)
        backend = read(select(func.pg_backend_pid())).scalar()
        with db.engine.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            admin.commit()
        with pytest.raises(exc.OperationalError) as raised:
            read(_BY_ID, {"client_id": 9851})
        assert raised.value.connection_invalidated
        db.session.rollback()
        assert read(_BY_ID, {"client_id": 9851}).scalar() == 9851
        assert read(select(func.pg_backend_pid())).scalar() != backend
