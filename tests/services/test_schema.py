"""The schema comes from the migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from sqlalchemy import inspect

from cabinet.db import db


def test_migrations_match_the_models(ctx: Flask) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []


def test_every_page_lookup_has_an_index(ctx: Flask) -> None:
    inspector = inspect(db.engine)

    def indexed(table: str) -> set[tuple[str, ...]]:
        found = {tuple(ix["column_names"]) for ix in inspector.get_indexes(table)}
        found |= {tuple(uq["column_names"]) for uq in inspector.get_unique_constraints(table)}
        return found

    assert ("code",) in indexed("members")
    assert ("referee_id",) in indexed("referrals")
    assert ("referrer_id", "activated_at", "id") in indexed("referrals")
    assert ("client_id", "starts_at", "id") in indexed("grants")
    assert ("client_id", "size") in indexed("sms_packs")
    assert ("email",) in indexed("clients")
