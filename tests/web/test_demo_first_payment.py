"""The demo story «Награда после первой оплаты» through the panel: the terms published, the
reward waiting, billing's payment from a button, the reward back after an early closure."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select

from cabinet.db import db
from cabinet.demo import runs as scenarios
from cabinet.demo.models import DemoRun
from cabinet.referrals import queries
from cabinet.referrals.models import ProgramTerms, Referral
from cabinet.texts import NBSP, percent
from tests.web.conftest import csrf_token, outside_requests
from tests.web.test_demo_panel import demo_manager


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(NBSP, " ")


def test_the_first_payment_story_step_by_step(
    make_app: Callable[..., Flask], database: None
) -> None:
    demo, client = demo_manager(make_app)
    board = client.get("/manage/scenarios").text
    assert "Награда после первой оплаты" in board
    token = csrf_token(board)
    client.post("/manage/scenarios/first_payment/start", data={"csrf_token": token})
    with outside_requests(demo):
        run = scenarios.latest_run("first_payment")
        assert run is not None
        ids = {k: int(v) for k, v in run.clients.items()}
        run_id = run.id

    def step(index: int) -> str:
        response = client.post(
            f"/manage/scenarios/first_payment/steps/{index}",
            data={"csrf_token": token, "run": str(run_id)},
        )
        assert response.status_code == 303, response.text
        return _text(client.get("/manage/scenarios").text)

    def discount() -> int:
        with outside_requests(demo):
            now = demo.extensions["context"].clock.now()
            return queries.standing(ids["R"], now).discount_percent

    shown = step(0)  # the terms: from the next midnight, the reward on the first payment
    assert "награда — после первой оплаты, срок возврата — 30 дней" in shown
    with outside_requests(demo):
        version = db.session.get(DemoRun, run_id).terms_version  # type: ignore[union-attr]
        row = db.session.get(ProgramTerms, version)
        assert row is not None and (row.reward_on, row.clawback_days) == ("first_payment", 30)
    step(1)  # +1 day: in force
    shown = step(2)  # Каскад and Пульсар apply Меридиан's code: the rewards wait
    assert discount() == 0
    assert "ожидает первой оплаты «Каскад», ожидает первой оплаты «Пульсар»" in shown
    with outside_requests(demo):
        waiting = db.session.scalars(
            select(Referral).where(Referral.referee_id.in_([ids["A"], ids["B"]]))
        ).all()
        assert [r.qualified_at for r in waiting] == [None, None]
    shown = step(3)  # billing's payment
    assert (
        f"Биллинг: {ids['A']} «Каскад» оплатил счет на 1 500,00 ₽ — награда за него начислена"
        in shown
    )
    assert discount() == 20
    step(4)  # Пульсар pays: level 2
    assert discount() == 40
    shown = step(5)  # Пульсар closes within 30 days: the reward goes back
    assert f"Биллинг: договор {ids['B']} «Пульсар» закрыт — награда за него возвращена" in shown
    assert discount() == 20
    assert f"«Меридиан»: скидка {percent(20)}".replace(NBSP, " ") in shown
