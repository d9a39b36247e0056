from __future__ import annotations

import pytest

from cabinet import InsecureConfiguration, create_app
from cabinet.config import DEFAULT_SECRET_KEY, from_environment, normalise_database_url


def test_defaults_are_documented_values() -> None:
    settings = from_environment({})
    assert settings["CABINET_TIMEZONE"] == "Europe/Moscow"
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert settings["SECRET_KEY"] == DEFAULT_SECRET_KEY


def test_postgres_urls_use_psycopg_3() -> None:
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_misspelt_zone_stops_the_start() -> None:
    with pytest.raises(KeyError):
        from_environment({"CABINET_TIMEZONE": "Europe/Moskva"})


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "", "short"])
def test_production_refuses_a_default_or_weak_secret(secret: str) -> None:
    with pytest.raises(InsecureConfiguration):
        create_app(
            {
                "CABINET_ENV": "production",
                "SECRET_KEY": secret,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )


def test_production_starts_with_a_real_secret() -> None:
    app = create_app(
        {
            "CABINET_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert app.config["CABINET_ENV"] == "production"
