from __future__ import annotations

import pytest
from flask import Flask

from cabinet import InsecureConfiguration, create_app
from cabinet.config import DEFAULT_SECRET_KEY, from_environment, normalise_database_url
from cabinet.passwords import hash_password, password_matches
from tests.conftest import FAST_PASSWORD_HASHING


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


def test_production_hashes_passwords_with_scrypt() -> None:
    """The suite hashes cheaply; an app started from the environment never does."""
    app = create_app(
        {
            "CABINET_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
        }
    )
    assert app.config["PASSWORD_HASH_METHOD"] == "scrypt"
    with app.app_context():
        hashed = hash_password("пароль-клиента")
        assert hashed.startswith("scrypt:")
        assert password_matches(hashed, "пароль-клиента")
        assert not password_matches(hashed, "другой-пароль")
        assert not password_matches(None, "пароль-клиента")


def test_the_environment_cannot_pick_the_hash_method() -> None:
    settings = from_environment({"PASSWORD_HASH_METHOD": FAST_PASSWORD_HASHING})
    assert settings["PASSWORD_HASH_METHOD"] == "scrypt"


@pytest.mark.parametrize("env", ["production", "development"])
def test_a_cheap_hash_method_is_refused_outside_tests(env: str) -> None:
    with pytest.raises(InsecureConfiguration):
        create_app(
            {
                "CABINET_ENV": env,
                "SECRET_KEY": "s" * 48,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASHING,
            }
        )


def test_the_suite_hashes_cheaply_and_still_checks(app: Flask) -> None:
    with app.app_context():
        hashed = hash_password("пароль-клиента")
        assert hashed.startswith(FAST_PASSWORD_HASHING + "$")
        assert password_matches(hashed, "пароль-клиента")
        assert not password_matches(hashed, "другой-пароль")
