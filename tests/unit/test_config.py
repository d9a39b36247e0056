from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from cabinet import InsecureConfiguration, create_app
from cabinet.config import DEFAULT_SECRET_KEY, from_environment, normalise_database_url
from cabinet.guard import settle_secret_key
from cabinet.passwords import hash_password, password_matches
from tests.conftest import FAST_PASSWORD_HASHING


def test_defaults_are_documented_values() -> None:
    settings = from_environment({})
    assert settings["CABINET_TIMEZONE"] == "Europe/Moscow"
    assert settings["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert settings["SECRET_KEY"] == ""  # no published default: create_app() makes one


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


def test_production_starts_with_a_real_secret_and_redis() -> None:
    app = create_app(
        {
            "CABINET_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        }
    )
    assert app.config["CABINET_ENV"] == "production"


def test_production_refuses_limits_counted_in_memory() -> None:
    """Each gunicorn worker would count alone: the limits would be multiplied by the workers."""
    with pytest.raises(InsecureConfiguration, match="Redis"):
        create_app(
            {
                "CABINET_ENV": "production",
                "SECRET_KEY": "s" * 48,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "RATELIMIT_STORAGE_URI": "memory://",
            }
        )


def test_development_without_a_secret_never_uses_a_published_one(tmp_path: Path) -> None:
    """Two installations get two different random keys; one installation keeps its key
    across restarts and workers (it lives in the instance folder, readable by its owner only)."""

    def secret_in(folder: Path) -> str:
        app = Flask("cabinet", instance_path=str(folder))
        app.config.update(CABINET_ENV="development", SECRET_KEY="")
        settle_secret_key(app)
        return str(app.config["SECRET_KEY"])

    first, again, other = (
        secret_in(tmp_path / "a"),
        secret_in(tmp_path / "a"),
        secret_in(tmp_path / "b"),
    )
    assert first == again
    assert first != other
    assert DEFAULT_SECRET_KEY not in (first, other)
    assert len(first) >= 48
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0


def test_development_replaces_the_published_key_even_when_set_explicitly() -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": DEFAULT_SECRET_KEY})
    assert app.config["SECRET_KEY"] != DEFAULT_SECRET_KEY


def test_production_sends_hsts_and_development_does_not() -> None:
    production = create_app(
        {
            "CABINET_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        }
    )
    response = production.test_client().get("/no-such-page")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    development = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "d" * 40})
    assert "Strict-Transport-Security" not in development.test_client().get("/x").headers


def test_production_hashes_passwords_with_scrypt() -> None:
    """The suite hashes cheaply; an app started from the environment never does."""
    app = create_app(
        {
            "CABINET_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
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
    with pytest.raises(InsecureConfiguration, match="scrypt"):
        create_app(
            {
                "CABINET_ENV": env,
                "SECRET_KEY": "s" * 48,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
                "PASSWORD_HASH_METHOD": FAST_PASSWORD_HASHING,
            }
        )


def test_the_suite_hashes_cheaply_and_still_checks(app: Flask) -> None:
    with app.app_context():
        hashed = hash_password("пароль-клиента")
        assert hashed.startswith(FAST_PASSWORD_HASHING + "$")
        assert password_matches(hashed, "пароль-клиента")
        assert not password_matches(hashed, "другой-пароль")


def test_the_sms_options_link_is_unset_by_default_and_only_http() -> None:
    assert from_environment({})["SMS_OPTIONS_URL"] is None
    assert from_environment({"SMS_OPTIONS_URL": " "})["SMS_OPTIONS_URL"] is None
    url = "https://operator.example/sms"
    assert from_environment({"SMS_OPTIONS_URL": url})["SMS_OPTIONS_URL"] == url
    for bad in ("javascript:alert(1)", "operator.example/sms", "ftp://operator.example/sms"):
        with pytest.raises(ValueError, match="SMS_OPTIONS_URL"):
            from_environment({"SMS_OPTIONS_URL": bad})


@pytest.mark.parametrize("name", ["GATEWAY_CALLBACK_SECRET", "CONTACT_HASH_KEY"])
@pytest.mark.parametrize("key", ["short", DEFAULT_SECRET_KEY, "s" * 48])
def test_production_refuses_a_weak_or_shared_key_of_its_own(name: str, key: str) -> None:
    """`"s" * 48` is the SECRET_KEY itself: one leaked key must not open everything."""
    with pytest.raises(InsecureConfiguration, match=name):
        create_app(
            {
                "CABINET_ENV": "production",
                "SECRET_KEY": "s" * 48,
                name: key,
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
            }
        )


def test_production_starts_with_a_callback_secret_of_its_own() -> None:
    app = create_app(
        {
            "CABINET_ENV": "production",
            "SECRET_KEY": "s" * 48,
            "GATEWAY_CALLBACK_SECRET": "c" * 40,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
        }
    )
    assert app.extensions["invitations"].callback_secret == "c" * 40


@pytest.mark.parametrize("name", ["KorpATS", "A", "ATS2024abcd"])
def test_the_sms_sender_name_is_a_setting(name: str) -> None:
    assert from_environment({"SMS_SENDER_NAME": name})["SMS_SENDER_NAME"] == name
    assert from_environment({})["SMS_SENDER_NAME"] == "KorpATS"


@pytest.mark.parametrize("name", ["", "ATS2024abcde", "Корп", "Korp ATS", "Korp-ATS"])
def test_an_sms_sender_name_networks_would_refuse_stops_the_start(name: str) -> None:
    with pytest.raises(ValueError, match="SMS_SENDER_NAME: от 1 до 11 латинских букв и цифр"):
        from_environment({"SMS_SENDER_NAME": name})
