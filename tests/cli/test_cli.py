"""The operator CLI, exactly as support staff and acceptance checks call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskCliRunner

from tests.factories import REFEREES_REGISTERED_AT, REFERRER_JOINS_AT, WORKED_EXAMPLE

ROOT = Path(__file__).resolve().parents[2]


def _ok(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def _show(runner: FlaskCliRunner, client: int, at: str) -> dict[str, object]:
    document: dict[str, object] = json.loads(
        _ok(runner, "referral", "show", "--client", str(client), "--at", at)
    )
    return document


def _worked_example(runner: FlaskCliRunner) -> None:
    _ok(
        runner,
        "clients",
        "create",
        "--id",
        "1",
        "--name",
        "Реферер",
        "--registered-at",
        "2023-01-10T09:00",
    )
    joined = REFERRER_JOINS_AT.replace(" ", "T")
    _ok(runner, "referral", "join", "--client", "1", "--at", joined)
    code = _show(runner, 1, joined)["code"]
    assert isinstance(code, str)
    for referee in WORKED_EXAMPLE:
        client = str(referee.id)
        _ok(
            runner,
            "clients",
            "create",
            "--id",
            client,
            "--name",
            referee.name,
            "--registered-at",
            REFEREES_REGISTERED_AT.replace(" ", "T"),
        )
        # The code as a person may type it: upper case, a hyphen.
        typed = f"{code[:4].upper()}-{code[4:]}"
        at = referee.applies_at.replace(" ", "T")
        _ok(runner, "referral", "join", "--client", client, "--code", typed, "--at", at)


def test_worked_example_through_the_cli(runner: FlaskCliRunner) -> None:
    _worked_example(runner)
    shown = _show(runner, 1, "2023-04-01T12:00")
    assert shown["client"] == {"id": 1, "name": "Реферер"}
    assert shown["member"] is True
    assert shown["discount_percent"] == 60
    assert shown["referred"] == [
        {"id": 408, "name": "ТехКомплект", "activated_at": "2023-03-31T10:03:00+03:00"},
        {"id": 401, "name": "СтройКомплект", "activated_at": "2023-03-31T10:30:00+03:00"},
        {"id": 407, "name": "ТехСтрой", "activated_at": "2023-03-31T15:18:00+03:00"},
    ]
    assert shown["history"] == [
        {
            "percent": 20,
            "starts_at": "2023-03-31T10:03:00+03:00",
            "ends_at": "2023-03-31T10:30:00+03:00",
            "reason": "referrer",
        },
        {
            "percent": 40,
            "starts_at": "2023-03-31T10:30:00+03:00",
            "ends_at": "2023-03-31T15:18:00+03:00",
            "reason": "referrer",
        },
        {
            "percent": 60,
            "starts_at": "2023-03-31T15:18:00+03:00",
            "ends_at": "2024-03-30T15:18:00+03:00",
            "reason": "referrer",
        },
    ]
    assert shown["sms_packs"] == [{"size": 1200, "granted_at": "2023-03-31T15:18:00+03:00"}]
    referee = _show(runner, 407, "2023-04-01T12:00")
    assert referee["discount_percent"] == 20
    assert referee["history"] == [
        {
            "percent": 20,
            "starts_at": "2023-03-31T15:18:00+03:00",
            "ends_at": "2023-06-29T15:18:00+03:00",
            "reason": "referee",
        }
    ]


def test_show_for_a_non_member(runner: FlaskCliRunner) -> None:
    _ok(
        runner,
        "clients",
        "create",
        "--id",
        "5",
        "--name",
        "Новый",
        "--registered-at",
        "2023-03-20T10:00:00+03:00",
        "--promo-until",
        "2023-04-20T10:00",
    )
    assert _show(runner, 5, "2023-03-25T10:00") == {
        "client": {"id": 5, "name": "Новый"},
        "member": False,
        "code": None,
        "discount_percent": 0,
        "referred": [],
        "history": [],
        "sms_packs": [],
    }


def test_offsets_are_respected_and_moments_shown_in_moscow(runner: FlaskCliRunner) -> None:
    _ok(runner, "clients", "create", "--id", "1", "--name", "А", "--registered-at", "2023-03-01")
    _ok(runner, "referral", "join", "--client", "1", "--at", "2023-03-01T09:00Z")
    _ok(runner, "clients", "create", "--id", "2", "--name", "Б", "--registered-at", "2023-03-20")
    code = str(_show(runner, 1, "2023-03-02")["code"])
    _ok(
        runner,
        "referral",
        "join",
        "--client",
        "2",
        "--code",
        code,
        "--at",
        "2023-03-30T12:47:00+00:00",
    )
    history = _show(runner, 2, "2023-03-31")["history"]
    assert history == [
        {
            "percent": 20,
            "starts_at": "2023-03-30T15:47:00+03:00",
            "ends_at": "2023-06-29T15:47:00+03:00",
            "reason": "referee",
        }
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["referral", "join", "--client", "999"], "Клиент с ID 999 не найден."),
        (["referral", "join", "--client", "1"], "Вы уже участвуете в реферальной программе."),
        (["referral", "join", "--client", "2", "--code", "zzz"], "Код приглашения состоит"),
        (["referral", "join", "--client", "2", "--code", "abcabcabc"], "Такого кода"),
        (
            ["referral", "join", "--client", "2", "--code", "{code}", "--at", "2023-04-21"],
            "Срок применения кода истек",
        ),
        (["referral", "show", "--client", "999"], "Клиент с ID 999 не найден."),
        (
            ["clients", "create", "--id", "1", "--name", "Дубль", "--registered-at", "2023-01-01"],
            "Клиент с ID 1 уже существует.",
        ),
        (
            ["clients", "create", "--id", "3", "--name", " ", "--registered-at", "2023-01-01"],
            "Название клиента",
        ),
        (
            [
                "clients",
                "create",
                "--id",
                "3",
                "--name",
                "В",
                "--registered-at",
                "2023-03-01",
                "--promo-until",
                "2023-02-01",
            ],
            "Промо-период",
        ),
    ],
)
def test_refusals_exit_1_with_one_russian_line(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    _ok(runner, "clients", "create", "--id", "1", "--name", "А", "--registered-at", "2023-03-01")
    _ok(runner, "referral", "join", "--client", "1", "--at", "2023-03-01T09:00")
    _ok(runner, "clients", "create", "--id", "2", "--name", "Б", "--registered-at", "2023-03-20")
    code = str(_show(runner, 1, "2023-03-02")["code"])
    before = _show(runner, 1, "2023-03-02"), _show(runner, 2, "2023-03-02")
    result = runner.invoke(args=[a.format(code=code) for a in args])
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert result.stderr.count("\n") == 1
    assert result.stdout == ""
    assert (_show(runner, 1, "2023-03-02"), _show(runner, 2, "2023-03-02")) == before


@pytest.mark.parametrize(
    "args",
    [
        ["referral", "join", "--client", "abc"],
        ["referral", "join", "--client", "0"],
        ["referral", "join", "--client", "1", "--at", "31.03.2023"],
        ["referral", "show"],
        ["clients", "create", "--id", "3", "--name", "В", "--registered-at", "вчера"],
        [
            "clients",
            "create",
            "--id",
            "3",
            "--name",
            "В",
            "--registered-at",
            "2023-01-01",
            "--status",
            "frozen",
        ],
        [
            "clients",
            "create",
            "--id",
            "3",
            "--name",
            "В",
            "--registered-at",
            "2023-01-01",
            "--email",
            "not-an-address",
        ],
    ],
)
def test_malformed_arguments_are_usage_errors(runner: FlaskCliRunner, args: list[str]) -> None:
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert "Usage:" in result.output


@pytest.mark.slow
def test_flask_finds_the_app_through_wsgi_py(
    database_url: str, database: None, tmp_path: Path
) -> None:
    """The real `flask` executable, no --app, DATABASE_URL picking the database."""
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("FLASK_APP", None)
    flask = [sys.executable, "-m", "flask"]
    created = subprocess.run(
        [
            *flask,
            "clients",
            "create",
            "--id",
            "77",
            "--name",
            "Процесс",
            "--registered-at",
            "2023-03-01",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    refused = subprocess.run(
        [*flask, "referral", "join", "--client", "78"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (refused.returncode, refused.stderr) == (1, "Клиент с ID 78 не найден.\n")
    shown = subprocess.run(
        [*flask, "referral", "show", "--client", "77"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(shown.stdout)["client"] == {"id": 77, "name": "Процесс"}


def test_code_prints_the_code_and_says_when_no_clipboard_exists(runner: FlaskCliRunner) -> None:
    _ok(runner, "clients", "create", "--id", "1", "--name", "А", "--registered-at", "2023-03-01")
    _ok(runner, "referral", "join", "--client", "1", "--at", "2023-03-01T09:00")
    code = str(_show(runner, 1, "2023-03-02")["code"])
    assert _ok(runner, "referral", "code", "--client", "1") == code + "\n"
    copied = runner.invoke(
        args=["referral", "code", "--client", "1", "--copy"], env={"DISPLAY": ""}
    )
    assert copied.exit_code == 0
    assert copied.stdout == code + "\n"  # the code is printed whatever the clipboard does
    assert "Буфер обмена недоступен" in copied.stderr or "скопирован" in copied.stderr


def test_code_of_a_non_member_is_refused(runner: FlaskCliRunner) -> None:
    _ok(runner, "clients", "create", "--id", "2", "--name", "Б", "--registered-at", "2023-03-01")
    result = runner.invoke(args=["referral", "code", "--client", "2"])
    assert result.exit_code == 1
    assert result.stderr == "Клиент 2 не участвует в программе: кода для приглашения нет.\n"
