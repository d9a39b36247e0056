"""Finance's monthly report on a real database, against a month computed by hand."""

from __future__ import annotations

from fractions import Fraction

from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select

from cabinet.billing import services as billing
from cabinet.clock import Context
from cabinet.db import db
from cabinet.finance import present, queries
from cabinet.finance.rules import Month
from cabinet.referrals import services
from cabinet.referrals.models import Grant
from tests.conftest import MOSCOW, msk
from tests.factories import make_client, make_member
from tests.services.test_rewards import publish_first_payment_terms

MAY = Month(2023, 5)


def _apply(context: Context, referee: int, code: str, at: str) -> None:
    make_client(referee, registered_at=msk("2023-03-20 09:00"), promo_until=msk("2023-04-20 00:00"))
    services.join(context.at(msk(at)), referee, code)


def _pay(context: Context, client_id: int, at: str, kopecks: int) -> None:
    billing.record_payment(context.at(msk(at)), client_id, f"inv-{client_id}", msk(at), kopecks)


def _may_2023(context: Context) -> int:
    """Version 2 from 25.03.2023: the help page's numbers, the referrer's reward on the
    referee's first payment after its promo period, taken back if the referee's contract
    closes within 30 days. Referrer 1 has no payment; its referees' promo periods end
    20.04.2023 00:00."""
    version = publish_first_payment_terms(context, clawback_days=30)
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    _apply(context, 407, code, "2023-03-31 15:18")
    _apply(context, 408, code, "2023-04-05 10:00")
    _apply(context, 401, code, "2023-04-10 10:00")
    _pay(context, 401, "2023-04-25 12:00", 200_000)  # 401 qualifies: April
    _pay(context, 407, "2023-05-10 12:00", 150_000)  # 407 qualifies: May
    billing.close_contract(context.at(msk("2023-05-15 12:00")), 401, msk("2023-05-15 12:00"))
    return version  # 2 on a fresh database (PostgreSQL's ids run on across tests)


def test_may_2023_as_computed_by_hand(ctx: Flask, context: Context) -> None:
    """May 2023 has 31 days (01.05 00:00 – 01.06 00:00, Moscow). Version 2 governs all.

    Grants in force in May (each referee's own: 20 % from 20.04 00:00 to 20.07 00:00, every
    day of May):
      407 referee 20 %, 31 days: 0.2 discount-months; paid 1 500,00 ₽ on 10.05 → 300,00 ₽
      401 referee 20 %, 31 days: 0.2; paid 2 000,00 ₽ on 25.04 → 400,00 ₽
      408 referee 20 %, 31 days: 0.2; no payment → 0.2 discount-months
      1 referrer, level 1, 20 % from 10.05 12:00 (407's payment; 401's earlier reward was
        taken back when 401 closed on 15.05, 20 days after qualifying, so its grants were
        voided and 407 became level 1): days 10.05 … 31.05 = 22 → 0.2 × 22/31 = 22/155;
        no payment → discount-months
    Grants in force: 4. Roubles: 300,00 + 400,00 = 700,00 ₽ (2 clients). Discount-months
    without a payment: 0.2 + 22/155 = 53/155 ≈ 0,34 (2 clients).
    Referrals: earned in May 1 (407; 401 earned in April); pending at 01.06 00:00 1 (408, no
    payment); clawed back in May 1 (401). SMS packs: none (one referral counts).
    """
    version = _may_2023(context)
    referrer = db.session.execute(
        select(Grant.percent, Grant.starts_at, Grant.ends_at).where(
            Grant.client_id == 1, Grant.revoked_at.is_(None)
        )
    ).all()
    assert [(p, s.astimezone(MOSCOW).strftime("%d.%m %H:%M")) for p, s, _ in referrer] == [
        (20, "10.05 12:00")
    ]

    built = queries.build(MAY, context.timezone)
    (line,) = built.report.lines
    assert line.version == version
    assert line.grants_in_force == 4
    assert (line.discount_kopecks, line.paid_clients) == (70_000, {401, 407})
    assert (line.discount_months_unpaid, line.unpaid_clients) == (Fraction(53, 155), {1, 408})
    assert (line.earned, line.pending, line.clawed_back) == (1, 1, 1)
    assert (line.sms_packs, line.sms_total) == (0, 0)

    shown = present.lines(built)
    assert [s.version for s in shown] == [
        f"{version} «Награда после первой оплаты» (условия)",
        "Итого",
    ]
    total = shown[-1]
    assert total.roubles_text == "700,00\u00a0₽"
    assert total.discount_months_text == "0,34"

    april = queries.build(Month(2023, 4), context.timezone).report.total
    assert (april.earned, april.pending, april.clawed_back) == (1, 2, 0)


def test_the_cli_prints_the_month(ctx: Flask, context: Context, runner: FlaskCliRunner) -> None:
    _may_2023(context)
    result = runner.invoke(args=["program", "liability", "--month", "2023-05"])
    assert result.exit_code == 0, result.output
    assert "Отчет за 2023-05 (московское время)" in result.output
    assert (
        "Итого: скидок в силе 4; скидка 700,00 ₽ по 2 клиентам с оплатой, 0,34 скидко-месяца "
        "по 2 клиентам без оплаты; новых наград 1, ждут первой оплаты 1, возвращено 1; "
        "пакетов SMS 0 (0 SMS)"
    ) in result.output
    refused = runner.invoke(args=["program", "liability", "--month", "май"])
    assert refused.exit_code != 0
    assert "Месяц не понят: укажите год и месяц, например 2026-11." in refused.output + (
        refused.stderr or ""
    )
