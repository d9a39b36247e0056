"""`flask webhooks add/list/deliver/replay/remove`, as an operator calls them."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskCliRunner

from cabinet.clients.services import NewClient, provision_client
from cabinet.clock import Context
from tests.conftest import msk
from tests.webhooks.receiver import receiving


def _ok(runner: FlaskCliRunner, *args: str) -> str:
    result = runner.invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout


def test_add_deliver_list_replay_remove(
    app: Flask, runner: FlaskCliRunner, context: Context
) -> None:
    with receiving() as receiver:
        out = _ok(runner, "webhooks", "add", receiver.url, "--note", "Биллинг")
        found = re.search(
            r"Подписчик (\d+): (\S+)\nСекрет \(показан один раз.*\): (whsec_\S+)", out
        )
        assert found is not None, out
        subscriber, url, receiver.secret = int(found.group(1)), found.group(2), found.group(3)
        assert url == receiver.url

        with app.app_context():
            provision_client(context, NewClient(5, "ТехСтрой", msk("2023-03-20 09:00")))
        out = _ok(runner, "webhooks", "deliver")
        assert "новых событий в очереди: 1, взято: 1, доставлено: 1" in out
        ((msg_id, event_id),) = receiver.processed.items()
        assert msg_id == f"msg_{subscriber}_{event_id}"

        listed = _ok(runner, "webhooks", "list")
        assert f"{subscriber}\t{receiver.url} — Биллинг" in listed
        assert "доставлено: 1, в очереди: 0, не доставлено: 0" in listed
        assert receiver.secret not in listed

        out = _ok(runner, "webhooks", "replay", str(subscriber), "--from", str(event_id))
        assert f"снова в очереди 1 событий с № {event_id}" in out
        _ok(runner, "webhooks", "deliver")
        assert [r.msg_id for r in receiver.received] == [msg_id, msg_id]

        out = _ok(runner, "webhooks", "remove", str(subscriber))
        assert f"Подписчик {subscriber} ({receiver.url}) удален" in out
        assert _ok(runner, "webhooks", "list") == "Подписчиков нет.\n"


def test_refusals_are_clear_and_change_nothing(runner: FlaskCliRunner) -> None:
    refused = runner.invoke(args=["webhooks", "add", "http://billing.example.ru/hooks"])
    assert refused.exit_code != 0
    assert "Адрес должен начинаться с https://" in refused.output + (refused.stderr or "")
    refused = runner.invoke(args=["webhooks", "replay", "7", "--from", "1"])
    assert refused.exit_code != 0
    assert "Подписчик 7 не найден" in refused.output + (refused.stderr or "")
    assert runner.invoke(args=["webhooks", "list"]).stdout == "Подписчиков нет.\n"
