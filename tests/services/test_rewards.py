"""Rewards earned on the referee's first payment and taken back on early churn, on a real
database (SQLite, and PostgreSQL with TEST_DATABASE_URL): docs/rules.md, «Награда после первой
оплаты»; billing's payments and closures (cabinet/billing/services.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from cabinet.auth.services import create_manager
from cabinet.billing import services as billing
from cabinet.clients import errors as client_errors
from cabinet.clients.models import Client, Payment
from cabinet.clock import Context
from cabinet.db import db
from cabinet.events.models import Event
from cabinet.moments import show_moment
from cabinet.program import services as terms
from cabinet.referrals import earning, queries, rules, services, settlement
from cabinet.referrals.models import Grant, Referral
from cabinet.referrals.revocation import revoke_referral
from tests.conftest import MOSCOW, empty_tables, msk
from tests.factories import make_client, make_member, seed_worked_example
from tests.support.terms_forms import terms_form

PROMO_ENDS = "2023-04-20 00:00"


def publish_first_payment_terms(context: Context, clawback_days: int = 30) -> int:
    """Version 2 from 25.03.2023: the help page's numbers, the reward on the first payment."""
    manager = create_manager(
        "pm@example.ru", "password-123", "Продакт", msk("2023-01-01"), edits_program_terms=True
    ).id
    at = context.at(msk("2023-03-21 12:00"))
    version = terms.save_draft(
        at,
        manager,
        None,
        terms_form(
            "Награда после первой оплаты",
            "2023-03-25T00:00",
            reward_on="first_payment",
            clawback_days=str(clawback_days),
        ),
    )
    terms.publish(at, manager, version, confirmed=True)
    return version


def apply(context: Context, referee: int, code: str, at: str, name: str = "") -> None:
    make_client(
        referee,
        name or f"Клиент {referee}",
        registered_at=msk("2023-03-20 09:00"),
        promo_until=msk(PROMO_ENDS),
    )
    services.join(context.at(msk(at)), referee, code)


def pay(context: Context, client_id: int, paid: str, received: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    return billing.record_payment(
        context.at(msk(received or paid)),
        client_id,
        str(kw.get("payment_id", f"inv-{client_id}-{paid}")),
        msk(paid),
        int(str(kw.get("amount", 150_000))),
    )


def referrer_grants(client_id: int) -> list[tuple[int, str, str]]:
    """(percent, start, end) of the referrer grants in force or ahead, voided ones left out."""
    return [
        (g.percent, show_moment(g.starts_at, MOSCOW), show_moment(g.ends_at, MOSCOW))
        for g in queries.in_effect(queries.history(client_id))
        if g.reason == "referrer"
    ]


def kinds_after(event_id: int) -> list[str]:
    return list(
        db.session.scalars(select(Event.kind).where(Event.id > event_id).order_by(Event.id))
    )


def last_event() -> int:
    return db.session.scalar(select(func.max(Event.id))) or 0


def referral_of(referee: int) -> Referral:
    db.session.expire_all()
    return db.session.scalars(select(Referral).where(Referral.referee_id == referee)).one()


@pytest.fixture
def code(ctx: Flask, context: Context) -> str:
    publish_first_payment_terms(context)
    return make_member(context, 1, msk("2023-03-01 09:00"), name="АльфаТелеком")


def test_the_reward_waits_for_the_first_payment(context: Context, code: str) -> None:
    before = last_event()
    apply(context, 407, code, "2023-03-31 15:18", "ТехСтрой")
    assert referrer_grants(1) == []
    assert referral_of(407).qualified_at is None
    # the friend's own discount is as ever: 20% from the end of its promo period
    assert [(g.percent, show_moment(g.starts_at, MOSCOW)) for g in queries.history(407)] == [
        (20, "20.04.2023 00:00")
    ]
    assert kinds_after(before) == ["client_joined", "referral_activated", "grant_issued"]
    assert queries.standing(1, msk("2023-04-01 12:00")).discount_percent == 0


def test_a_payment_in_the_promo_period_does_not_earn_it_the_first_after_it_does(
    context: Context, code: str
) -> None:
    apply(context, 407, code, "2023-03-31 15:18", "ТехСтрой")
    pay(context, 407, "2023-04-10 12:00")  # inside the promo period
    assert referrer_grants(1) == [] and referral_of(407).qualified_at is None
    before = last_event()
    result = pay(context, 407, "2023-04-21 10:00")
    assert result.settled.qualified == (referral_of(407).id,)
    assert referral_of(407).qualified_at == msk("2023-04-21 10:00")
    assert referrer_grants(1) == [(20, "21.04.2023 10:00", "20.07.2023 10:00")]
    assert kinds_after(before) == ["payment_received", "referral_qualified", "grant_issued"]
    # a later payment changes nothing more
    pay(context, 407, "2023-05-21 10:00")
    assert referrer_grants(1) == [(20, "21.04.2023 10:00", "20.07.2023 10:00")]


def test_the_same_payment_twice_changes_nothing_and_answers_as_the_first_time(
    context: Context, code: str
) -> None:
    apply(context, 407, code, "2023-03-31 15:18")
    first = pay(context, 407, "2023-04-21 10:00", payment_id="INV-1")
    before = last_event(), db.session.scalar(select(func.count()).select_from(Grant))
    again = pay(context, 407, "2023-04-21 10:00", "2023-04-22 09:00", payment_id="INV-1")
    assert again.replayed and not first.replayed
    assert (again.paid_at, again.amount_kopecks, again.received_at) == (
        first.paid_at,
        first.amount_kopecks,
        first.received_at,
    )
    assert (last_event(), db.session.scalar(select(func.count()).select_from(Grant))) == before
    with pytest.raises(client_errors.PaymentConflict) as refused:
        pay(context, 407, "2023-04-21 10:00", "2023-04-22 09:00", payment_id="INV-1", amount=1)
    assert refused.value.message == (
        "Платеж «INV-1» уже получен с другими данными: оплачен 21.04.2023 10:00, "
        "сумма 1\xa0500,00\xa0₽. Ничего не изменилось."
    )
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 1


def test_a_late_payment_recomputes_the_ladder_as_of_then(context: Context, code: str) -> None:
    apply(context, 408, code, "2023-03-31 10:03")
    apply(context, 401, code, "2023-03-31 10:30")
    pay(context, 401, "2023-04-25 12:00")
    assert referrer_grants(1) == [(20, "25.04.2023 12:00", "24.07.2023 12:00")]
    # 408 paid on 22.04, billing reports it on 01.05: 408 counts first, 401 second
    result = pay(context, 408, "2023-04-22 09:00", "2023-05-01 09:00")
    assert referrer_grants(1) == [
        (20, "22.04.2023 09:00", "25.04.2023 12:00"),
        (40, "25.04.2023 12:00", "24.10.2023 12:00"),
    ]
    assert len(result.settled.grants_voided) == 1 and len(result.settled.grants_issued) == 2
    voided = db.session.scalars(select(Grant).where(Grant.revoked_at.is_not(None))).one()
    assert voided.revoked_at == msk("2023-05-01 09:00")  # when the cabinet learnt it


def test_a_closure_inside_the_window_takes_the_reward_back(context: Context, code: str) -> None:
    apply(context, 408, code, "2023-03-31 10:03", "ТехКомплект")
    apply(context, 407, code, "2023-03-31 15:18", "ТехСтрой")
    pay(context, 408, "2023-04-21 10:00")
    pay(context, 407, "2023-04-22 10:00")
    assert referrer_grants(1) == [
        (20, "21.04.2023 10:00", "22.04.2023 10:00"),
        (40, "22.04.2023 10:00", "21.10.2023 10:00"),
    ]
    before = last_event()
    result = billing.close_contract(
        context.at(msk("2023-05-10 12:00")), 408, msk("2023-05-10 11:00")
    )
    assert result.settled.clawed_back == (referral_of(408).id,)
    clawed = referral_of(408)
    assert (clawed.clawed_back_at, clawed.clawback_reason) == (
        msk("2023-05-10 11:00"),
        "contract_closed",
    )
    # 407 alone counts: level 1 from its payment
    assert referrer_grants(1) == [(20, "22.04.2023 10:00", "21.07.2023 10:00")]
    assert kinds_after(before) == [
        "client_closed",
        "reward_clawed_back",
        "grant_revoked",
        "grant_revoked",
        "grant_issued",
    ]
    client = db.session.get(Client, 408)
    assert client is not None and client.status == "closed"
    # the same closure again: nothing; another moment: refused
    marker = last_event()
    again = billing.close_contract(
        context.at(msk("2023-05-11 12:00")), 408, msk("2023-05-10 11:00")
    )
    assert again.replayed and last_event() == marker
    with pytest.raises(client_errors.ClosureConflict):
        billing.close_contract(context.at(msk("2023-05-11 12:00")), 408, msk("2023-05-09 11:00"))


def test_a_closure_after_the_window_keeps_the_reward(context: Context, code: str) -> None:
    apply(context, 408, code, "2023-03-31 10:03")
    pay(context, 408, "2023-04-21 10:00")
    billing.close_contract(context.at(msk("2023-06-01 12:00")), 408, msk("2023-05-21 10:00"))
    assert referral_of(408).clawed_back_at is None
    assert referrer_grants(1) == [(20, "21.04.2023 10:00", "20.07.2023 10:00")]


def test_sms_packs_follow_the_count_that_qualifies(context: Context, code: str) -> None:
    for n, at in enumerate(["2023-03-31 10:03", "2023-03-31 10:30", "2023-03-31 15:18"]):
        apply(context, 10 + n, code, at)
    pay(context, 10, "2023-04-21 10:00")
    pay(context, 11, "2023-04-21 11:00")
    assert [p.size for p in queries.sms_packs(1)] == []
    pay(context, 12, "2023-04-21 12:00")
    assert [(p.size, show_moment(p.granted_at, MOSCOW)) for p in queries.sms_packs(1)] == [
        (1200, "21.04.2023 12:00")
    ]
    result = billing.close_contract(
        context.at(msk("2023-05-01 12:00")), 11, msk("2023-05-01 10:00")
    )
    assert result.settled.sms_packs_reversed == (1200,)
    assert queries.sms_packs(1) == []


def test_a_friend_who_paid_before_applying_earns_the_reward_at_once(
    context: Context, code: str
) -> None:
    make_client(77, "Оплатил", registered_at=msk("2023-03-20 09:00"))
    pay(context, 77, "2023-03-30 10:00")
    services.join(context.at(msk("2023-03-31 10:03")), 77, code)
    assert referral_of(77).qualified_at == msk("2023-03-31 10:03")
    assert referrer_grants(1) == [(20, "31.03.2023 10:03", "29.06.2023 10:03")]


def test_revoking_a_waiting_referral_leaves_the_counting_ones(context: Context, code: str) -> None:
    apply(context, 408, code, "2023-03-31 10:03")
    apply(context, 401, code, "2023-03-31 10:30")
    pay(context, 401, "2023-04-21 10:00")
    manager = create_manager("s@example.ru", "password-123", "Поддержка", msk("2023-01-01")).id
    revoke_referral(context.at(msk("2023-04-22 10:00")), manager, referral_of(408).id, "Дубль")
    assert referrer_grants(1) == [(20, "21.04.2023 10:00", "20.07.2023 10:00")]


def test_refusals_change_nothing(context: Context, code: str) -> None:
    apply(context, 408, code, "2023-03-31 10:03")
    with pytest.raises(client_errors.MomentInFuture):
        pay(context, 408, "2023-04-21 10:00", "2023-04-21 09:59")
    with pytest.raises(client_errors.MomentBeforeRegistration):
        pay(context, 408, "2023-03-19 10:00", "2023-04-21 09:59")
    with pytest.raises(client_errors.ClientNotFound):
        pay(context, 999, "2023-04-21 10:00")
    with pytest.raises(client_errors.MomentInFuture):
        billing.close_contract(context.at(msk("2023-04-21 10:00")), 408, msk("2023-04-22 10:00"))
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 0
    assert db.session.get(Client, 408).closed_at is None  # type: ignore[union-attr]


def test_version_1_is_untouched_by_payments_and_closures(ctx: Flask, context: Context) -> None:
    """The help page's worked example: 20% → 40% → 60% and the 1200 SMS pack at the
    activations; billing's payments and a late closure change none of it (no clawback)."""
    seed_worked_example(context, 1, "АльфаТелеком")
    expected = [
        (20, "31.03.2023 10:03", "31.03.2023 10:30"),
        (40, "31.03.2023 10:30", "31.03.2023 15:18"),
        (60, "31.03.2023 15:18", "30.03.2024 15:18"),
    ]
    assert referrer_grants(1) == expected
    pay(context, 408, "2023-04-21 10:00")
    billing.close_contract(context.at(msk("2023-04-22 10:00")), 401, msk("2023-04-22 10:00"))
    assert referrer_grants(1) == expected
    assert [p.size for p in queries.sms_packs(1)] == [1200]


# ---- any sequence, on the database: the rows are the ladder from scratch ----------------------


def ladder_from_scratch(referrer_id: int) -> rules.LadderResult:
    schedule = queries.schedule()
    known = [f for _, f in settlement.facts(referrer_id, schedule)]
    moments = [m for _, m in earning.counting(known)]
    return rules.ladder(moments, MOSCOW, schedule.at)


def held_referrer_grants(referrer_id: int) -> tuple[rules.Grant, ...]:
    rows = db.session.scalars(
        select(Grant)
        .where(Grant.client_id == referrer_id, Grant.reason == "referrer")
        .where(Grant.revoked_at.is_(None))
        .order_by(Grant.starts_at, Grant.id)
    )
    return tuple(rules.grant_of(g) for g in rows)


step = st.one_of(
    st.tuples(st.just("apply"), st.integers(0, 40 * 24 * 60), st.integers(0, 0)),
    st.tuples(st.just("pay"), st.integers(0, 20 * 24 * 60), st.integers(0, 30 * 24 * 60)),
    st.tuples(st.just("close"), st.integers(0, 20 * 24 * 60), st.integers(0, 30 * 24 * 60)),
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(step, st.integers(0, 100)), min_size=1, max_size=10))
def test_any_applications_payments_and_closures_keep_the_ladder(
    ctx: Flask, context: Context, sequence: list[tuple[tuple[str, int, int], int]]
) -> None:
    """Friends apply (under first-payment terms from 25.03.2023, clawback 30 days), pay (reports
    up to 30 days late, some inside the promo period), close; a payment replayed now and then:
    after each step the referrer's rows are `rules.ladder` of the referrals that count."""
    db.session.remove()  # no row of the example before stays in the session's identity map
    empty_tables()
    publish_first_payment_terms(context)
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    now = msk("2023-03-26 09:00")
    referees: list[int] = []
    for (action, passed, back), pick in sequence:
        now += timedelta(minutes=passed)
        if action == "apply" or not referees:
            referee = 100 + len(referees)
            make_client(
                referee,
                registered_at=now - timedelta(days=1),
                promo_until=now + timedelta(days=pick % 20),
            )
            if now <= rules.apply_deadline(now - timedelta(days=1), MOSCOW, rules.HELP_PAGE_TERMS):
                services.join(context.at(now), referee, code)
                referees.append(referee)
            continue
        referee = referees[pick % len(referees)]
        registered = db.session.get(Client, referee).registered_at  # type: ignore[union-attr]
        moment: datetime = max(registered, now - timedelta(minutes=back))
        try:
            if action == "pay":
                billing.record_payment(context.at(now), referee, f"p{pick}", moment, 100)
            else:
                billing.close_contract(context.at(now), referee, moment)
        except (client_errors.PaymentConflict, client_errors.ClosureConflict):
            pass  # billing's own data disagree: refused, nothing changed
        db.session.expire_all()
        expected = ladder_from_scratch(1)
        assert held_referrer_grants(1) == expected.grants
        assert sorted(p.size for p in queries.sms_packs(1)) == sorted(
            size for size, _ in expected.sms_packs
        )
