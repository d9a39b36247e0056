"""Revoking a fraudulent referral, on a real database (SQLite, and PostgreSQL with
TEST_DATABASE_URL): docs/rules.md, «Отмена реферала»."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from cabinet import referral_page as page
from cabinet.audit.models import AuditEntry
from cabinet.auth.errors import ManagerNotFound
from cabinet.auth.services import create_manager
from cabinet.billing import rules as billing
from cabinet.billing.queries import invoice_preview
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.errors import ProgramRefusal
from cabinet.events.models import Event
from cabinet.moments import show_moment
from cabinet.referrals import errors, queries, rules, services
from cabinet.referrals.models import Grant, Member, Referral, SmsPack
from cabinet.referrals.revocation import revoke_referral
from cabinet.texts import percent
from tests.conftest import MOSCOW, empty_tables, msk
from tests.factories import make_client, make_member, seed_worked_example

V1_AT = rules.HELP_PAGE_SCHEDULE.at  # version 1: the help page's terms

REASON = "Один владелец у обеих компаний"


def _manager() -> int:
    return create_manager("support@example.ru", "password-123", "Поддержка", msk("2023-03-01")).id


def _worked_example(context: Context) -> dict[int, int]:
    """The help page's example with referrer 1. Returns referee id → referral id."""
    seed_worked_example(context, 1, "Реферер")
    return _referral_ids()


def _referral_ids() -> dict[int, int]:
    return dict(db.session.execute(select(Referral.referee_id, Referral.id)).tuples().all())


def _grants(client_id: int) -> list[tuple[int, str, str, bool]]:
    """(percent, start, end, voided) of every grant, in the history's order."""
    return [
        (g.percent, show_moment(g.starts_at, MOSCOW), show_moment(g.ends_at, MOSCOW), g.voided)
        for g in queries.history(client_id)
    ]


def _in_effect(client_id: int) -> list[rules.Grant]:
    return [g for g in queries.in_effect(queries.history(client_id)) if g.reason == "referrer"]


def _counts() -> tuple[int, ...]:
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Member, Referral, Grant, SmsPack, Event, AuditEntry)
    ) + (
        db.session.scalar(select(func.count()).where(Referral.revoked_at.is_not(None))) or 0,
        db.session.scalar(select(func.count()).where(Grant.revoked_at.is_not(None))) or 0,
        db.session.scalar(select(func.count()).where(SmsPack.revoked_at.is_not(None))) or 0,
    )


def test_revoking_the_middle_referral_of_the_worked_example(ctx: Flask, context: Context) -> None:
    manager = _manager()
    ids = _worked_example(context)
    events_before = db.session.scalar(select(func.max(Event.id))) or 0
    now = msk("2023-04-01 12:00")

    result = revoke_referral(context.at(now), manager, ids[401], f"  {REASON} ")

    assert (result.referrer_id, result.referee_id, result.revoked_at) == (1, 401, now)
    assert result.referee_grant == "closed"
    assert result.sms_packs_reversed == (1200,)
    referral = db.session.get(Referral, ids[401])
    assert referral is not None
    assert (referral.revoked_at, referral.revoked_by, referral.revoke_reason) == (
        now,
        manager,
        REASON,
    )
    # The referrer's ladder is the ladder of 408 and 407 alone; the old rows stay, voided.
    assert _in_effect(1) == list(
        rules.ladder([msk("2023-03-31 10:03"), msk("2023-03-31 15:18")], MOSCOW, V1_AT).grants
    )
    assert sorted(_grants(1)) == sorted(
        [
            (20, "31.03.2023 10:03", "31.03.2023 10:30", True),  # closed early by 401: voided
            (20, "31.03.2023 10:03", "31.03.2023 15:18", False),  # … replayed: closed by 407
            (40, "31.03.2023 10:30", "31.03.2023 15:18", True),  # 401's own grant
            (60, "31.03.2023 15:18", "30.03.2024 15:18", True),  # 407's third level
            (40, "31.03.2023 15:18", "29.09.2023 15:18", False),  # 407 is now the second
        ]
    )
    # The referee's 20% was in force: it ends at the revocation, and counts no more.
    assert _grants(401) == [(20, "31.03.2023 10:30", "01.04.2023 12:00", False)]
    standing = queries.standing(1, msk("2023-04-02 12:00"))
    assert (standing.discount_percent, standing.referred_count) == (40, 2)
    assert queries.standing(401, msk("2023-04-02 12:00")).discount_percent == 0
    assert [r.id for r in queries.referred_clients(1)] == [408, 407]
    assert queries.sms_packs(1) == []  # two referred clients: the 1200 SMS pack is reversed

    audit = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(a.action, a.client_id, a.manager_id, a.reason) for a in audit] == [
        ("revoke_referral", 1, manager, REASON),
        ("revoke_referral", 401, manager, REASON),
    ]
    assert audit[0].details["referral_id"] == ids[401]
    assert audit[0].details["sms_packs_reversed"] == [1200]

    kinds = [
        (e.kind, e.client_id)
        for e in db.session.scalars(
            select(Event).where(Event.id > events_before).order_by(Event.id)
        )
    ]
    assert kinds == [
        ("referral_revoked", 1),
        ("grant_closed", 401),
        ("grant_revoked", 1),
        ("grant_revoked", 1),
        ("grant_revoked", 1),
        ("grant_issued", 1),
        ("grant_issued", 1),
        ("sms_pack_revoked", 1),
    ]


def test_the_page_shows_a_voided_grant_as_cancelled(ctx: Flask, context: Context) -> None:
    ids = _worked_example(context)
    revoke_referral(context.at(msk("2023-04-01 12:00")), _manager(), ids[401], REASON)
    view = page.build(1, msk("2023-04-02 12:00"), MOSCOW, "history", None, 20)
    states = [(line.percent, line.state, line.in_force) for line in view.history]
    assert states.count((percent(60), "отменена", False)) == 1
    assert (percent(40), "действует", True) in states
    assert (view.discount_percent, view.referred_count, view.sms_packs) == (40, 2, ())
    assert [
        line.id for line in page.build(1, msk("2023-04-02"), MOSCOW, "clients", None, 20).clients
    ] == [
        407,
        408,
    ]


def test_billing_ignores_voided_grants(ctx: Flask, context: Context) -> None:
    ids = _worked_example(context)
    revoke_referral(context.at(msk("2023-04-01 12:00")), _manager(), ids[401], REASON)
    _, invoice = invoice_preview(
        context, 1, [billing.Line("service", 10_000)], msk("2023-04-02 12:00")
    )
    assert [s.percent for s in invoice.lines[0].segments] == [40]


def test_a_referee_grant_waiting_for_the_promo_end_is_voided(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    make_client(2, registered_at=msk("2023-03-20 09:00"), promo_until=msk("2023-04-20 09:00"))
    services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    result = revoke_referral(
        context.at(msk("2023-04-01 10:00")), _manager(), _referral_ids()[2], REASON
    )
    assert result.referee_grant == "voided"
    assert _grants(2) == [(20, "20.04.2023 09:00", "19.07.2023 09:00", True)]
    standing = queries.standing(2, msk("2023-05-01 00:00"))
    assert (standing.discount_percent, standing.upcoming) == (0, ())
    # A referrer with no other referral keeps nothing.
    assert _in_effect(1) == []
    assert queries.standing(1, msk("2023-04-01 10:00")).discount_percent == 0


def test_an_ended_referee_grant_is_left_as_it_was(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    make_client(2, registered_at=msk("2023-03-20 09:00"))
    services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    result = revoke_referral(
        context.at(msk("2023-08-01 10:00")), _manager(), _referral_ids()[2], REASON
    )
    assert result.referee_grant == "ended"
    assert _grants(2) == [(20, "30.03.2023 15:47", "29.06.2023 15:47", False)]


def test_the_sms_pack_comes_back_when_the_count_climbs_again(ctx: Flask, context: Context) -> None:
    ids = _worked_example(context)
    revoke_referral(context.at(msk("2023-04-01 12:00")), _manager(), ids[401], REASON)
    code = queries.standing(1, msk("2023-04-01 12:00")).code
    assert code is not None
    make_client(409, registered_at=msk("2023-03-25 09:00"))
    services.join(context.at(msk("2023-04-02 10:00")), 409, code)
    assert [p.size for p in queries.sms_packs(1)] == [1200]
    assert db.session.scalar(select(func.count()).select_from(SmsPack)) == 2  # one reversed
    # 409 climbs from the replayed 40% (level 2): 60%, level 3, as if 401 had never applied
    assert queries.standing(1, msk("2023-04-02 12:00")).discount_percent == 60
    assert _in_effect(1) == list(
        rules.ladder(
            [msk("2023-03-31 10:03"), msk("2023-03-31 15:18"), msk("2023-04-02 10:00")],
            MOSCOW,
            V1_AT,
        ).grants
    )


def test_two_held_packs_of_one_size_are_refused_by_the_database(
    ctx: Flask, context: Context
) -> None:
    ids = _worked_example(context)
    db.session.add(
        SmsPack(client_id=1, referral_id=ids[408], size=1200, granted_at=msk("2023-04-01"))
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_revoked_referee_cannot_apply_another_code(ctx: Flask, context: Context) -> None:
    ids = _worked_example(context)
    other = make_member(context, 2, msk("2023-03-01 09:00"))
    revoke_referral(context.at(msk("2023-04-01 12:00")), _manager(), ids[401], REASON)
    with pytest.raises(errors.CodeAlreadyApplied):
        services.join(context.at(msk("2023-04-02 12:00")), 401, other)
    page_view = page.build(401, msk("2023-04-02 12:00"), MOSCOW, "history", None, 20)
    assert page_view.can_apply is False


def test_an_activation_after_a_revoked_later_one_is_in_order(ctx: Flask, context: Context) -> None:
    """The out-of-order check looks at the activations that count."""
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    for client_id in (2, 3):
        make_client(client_id, registered_at=msk("2023-03-20 09:00"))
    services.join(context.at(msk("2023-03-31 15:00")), 2, code)
    revoke_referral(context.at(msk("2023-03-31 16:00")), _manager(), _referral_ids()[2], REASON)
    services.join(context.at(msk("2023-03-31 14:00")), 3, code)  # before 2's, which is revoked
    assert queries.standing(1, msk("2023-03-31 16:00")).referred_count == 1
    assert _in_effect(1) == list(rules.ladder([msk("2023-03-31 14:00")], MOSCOW, V1_AT).grants)


Refusal = tuple[Callable[[Context, int, dict[int, int]], Any], type[ProgramRefusal]]


@pytest.mark.parametrize(
    "case", ["no_reason", "blank_reason", "unknown", "twice", "before_activation", "no_manager"]
)
def test_every_refusal_changes_nothing(ctx: Flask, context: Context, case: str) -> None:
    manager = _manager()
    ids = _worked_example(context)
    revoke_referral(context.at(msk("2023-04-01 09:00")), manager, ids[408], REASON)
    now = context.at(msk("2023-04-01 12:00"))
    cases: dict[str, Refusal] = {
        "no_reason": (
            lambda p, m, r: revoke_referral(p, m, r[401], ""),
            errors.RevocationReasonRequired,
        ),
        "blank_reason": (
            lambda p, m, r: revoke_referral(p, m, r[401], " \n "),
            errors.RevocationReasonRequired,
        ),
        "unknown": (lambda p, m, r: revoke_referral(p, m, 99999, REASON), errors.ReferralNotFound),
        "twice": (
            lambda p, m, r: revoke_referral(p, m, r[408], REASON),
            errors.ReferralAlreadyRevoked,
        ),
        "before_activation": (
            lambda p, m, r: revoke_referral(p.at(msk("2023-03-31 15:00")), m, r[407], REASON),
            errors.RevocationBeforeActivation,
        ),
        "no_manager": (
            lambda p, m, r: revoke_referral(p, m + 100, r[401], REASON),
            ManagerNotFound,
        ),
    }
    action, refusal = cases[case]
    before = _counts()
    with pytest.raises(refusal) as raised:
        action(now, manager, ids)
    assert raised.value.message  # in Russian, for the manager's flash message
    assert _counts() == before


def test_a_closed_client_can_still_be_revoked(ctx: Flask, context: Context) -> None:
    ids = _worked_example(context)
    db.session.execute(update(Client).where(Client.id == 401).values(status="closed"))
    db.session.commit()
    result = revoke_referral(context.at(msk("2023-04-01 12:00")), _manager(), ids[401], REASON)
    assert result.referee_id == 401


# ---- the property, on the database ---------------------------------------------------------

START = msk("2023-01-01 00:00")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.one_of(st.just(0), st.integers(1, 90), st.integers(0, 200 * 24 * 60)),
        min_size=1,
        max_size=7,
    ),
    st.data(),
)
def test_revoking_then_replaying_equals_never_having_the_referral(
    ctx: Flask, context: Context, minutes_apart: list[int], data: st.DataObject
) -> None:
    """For any activations and any one revoked, the referrer's grants that count are the ladder
    of the others, and its packs are the ladder's; a later activation continues that ladder."""
    empty_tables()
    manager = _manager()
    code = make_member(context, 1, START - timedelta(days=1))
    moments: list[datetime] = []
    at = START
    for n, gap in enumerate(minutes_apart, start=2):
        at += timedelta(minutes=gap)
        moments.append(at)
        make_client(n, registered_at=at - timedelta(hours=1))
        services.join(context.at(at), n, code)
    index = data.draw(st.integers(0, len(moments) - 1), label="revoked")
    referral = _referral_ids()[index + 2]
    revoke_referral(context.at(at + timedelta(minutes=1)), manager, referral, REASON)

    remaining = moments[:index] + moments[index + 1 :]
    expected = rules.ladder(remaining, MOSCOW, V1_AT)
    assert _in_effect(1) == list(expected.grants)
    assert [p.size for p in queries.sms_packs(1)] == [size for size, _ in expected.sms_packs]
    assert queries.standing(1, at + timedelta(minutes=1)).referred_count == len(remaining)

    later = at + timedelta(minutes=2)
    make_client(99, registered_at=later - timedelta(hours=1))
    services.join(context.at(later), 99, code)
    continued = rules.ladder([*remaining, later], MOSCOW, V1_AT)
    assert _in_effect(1) == list(continued.grants)
    assert sorted(p.size for p in queries.sms_packs(1)) == sorted(
        size for size, _ in continued.sms_packs
    )
