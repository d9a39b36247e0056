"""Services on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError

from cabinet.clients.errors import ClientClosed, ClientNotFound
from cabinet.clients.models import Client
from cabinet.clock import Context
from cabinet.db import db
from cabinet.errors import ProgramRefusal
from cabinet.moments import show_moment
from cabinet.referrals import errors, queries, services
from cabinet.referrals.models import Grant, Member, Referral, SmsPack
from tests.conftest import MOSCOW, msk
from tests.factories import make_client, make_member, seed_worked_example


def _counts() -> tuple[int, ...]:
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Member, Referral, Grant, SmsPack)
    )


def _history(client_id: int) -> list[tuple[int, str, str, str]]:
    return [
        (g.percent, show_moment(g.starts_at, MOSCOW), show_moment(g.ends_at, MOSCOW), g.reason)
        for g in queries.history(client_id)
    ]


def test_worked_example(ctx: Flask, context: Context) -> None:
    seed_worked_example(context, 1, "Реферер")

    assert _history(1) == [
        (20, "31.03.2023 10:03", "31.03.2023 10:30", "referrer"),
        (40, "31.03.2023 10:30", "31.03.2023 15:18", "referrer"),
        (60, "31.03.2023 15:18", "30.03.2024 15:18", "referrer"),
    ]
    assert [(p.size, show_moment(p.granted_at, MOSCOW)) for p in queries.sms_packs(1)] == [
        (1200, "31.03.2023 15:18")
    ]
    standing = queries.standing(1, msk("2023-04-01 12:00"))
    assert (standing.discount_percent, standing.referred_count) == (60, 3)
    assert [r.id for r in queries.referred_clients(1)] == [408, 401, 407]
    # 31.03 + 3 months clamps to 30.06, minus one day
    assert _history(407) == [(20, "31.03.2023 15:18", "29.06.2023 15:18", "referee")]


def test_join_without_code_gives_a_fresh_code(ctx: Flask, context: Context) -> None:
    make_client(5)
    result = services.join(context, 5)
    assert len(result.code) == 9 and result.referrer_id is None
    assert queries.standing(5, context.clock.now()).code == result.code
    assert queries.standing(5, context.clock.now()).discount_percent == 0


def test_code_collision_is_retried(app: Flask, ctx: Flask) -> None:
    draws = iter([b"\x11" * 5, b"\x11" * 5, b"\x22" * 5])
    base: Context = app.extensions["context"]
    context = Context(base.clock, base.timezone, lambda _n: next(draws))
    make_client(1)
    make_client(2)
    assert services.join(context, 1).code == "111111111"
    assert services.join(context, 2).code == "222222222"


def test_a_member_applies_a_code_later(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    own = make_member(context, 2, msk("2023-03-25 09:00"))
    result = services.join(context.at(msk("2023-04-01 10:00")), 2, code)
    assert result.code == own  # the member keeps its own code
    assert result.referrer_id == 1


def test_promo_period_delays_the_referee_grant(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    make_client(2, registered_at=msk("2023-03-20 09:00"), promo_until=msk("2023-04-20 09:00"))
    services.join(context.at(msk("2023-03-30 15:47")), 2, code)
    assert _history(2) == [(20, "20.04.2023 09:00", "19.07.2023 09:00", "referee")]
    standing = queries.standing(2, msk("2023-04-01 00:00"))
    assert standing.discount_percent == 0
    assert [g.percent for g in standing.upcoming] == [20]
    assert queries.standing(2, msk("2023-04-20 09:00")).discount_percent == 20


def test_referrer_and_referee_grants_add_up_and_cap_at_100(ctx: Flask, context: Context) -> None:
    top = make_member(context, 1, msk("2023-01-01 09:00"), registered_at=msk("2022-12-01 00:00"))
    make_client(10, registered_at=msk("2023-01-01 00:00"))
    services.join(context.at(msk("2023-01-02 10:00")), 10, top)  # 10 gets 20% as a referee
    code_10 = queries.standing(10, msk("2023-01-02 10:00")).code
    assert code_10 is not None
    for n in range(5):
        make_client(20 + n, registered_at=msk("2023-01-01 00:00"))
        services.join(context.at(msk(f"2023-01-0{3 + n} 10:00")), 20 + n, code_10)
    assert queries.standing(10, msk("2023-01-08 12:00")).discount_percent == 100
    levels = [g.level for g in queries.history(10) if g.reason == "referrer"]
    assert levels == [1, 2, 3, 4, 5]
    assert [p.size for p in queries.sms_packs(10)] == [1200, 3200]


Refusal = tuple[Callable[[Context], Any], type[ProgramRefusal]]


@pytest.mark.parametrize(
    "case",
    [
        "unknown_client",
        "malformed",
        "not_found",
        "closed_referrer",
        "own",
        "twice",
        "cycle",
        "window",
        "closed_referee",
        "already_member",
        "backdated",
    ],
)
def test_every_refusal_changes_nothing(ctx: Flask, context: Context, case: str) -> None:
    code_1 = make_member(context, 1, msk("2023-03-01 09:00"))
    code_2 = make_member(context, 2, msk("2023-03-01 09:00"))
    code_3 = make_member(context, 3, msk("2023-03-01 09:00"))
    db.session.execute(update(Client).where(Client.id == 3).values(status="closed"))
    db.session.commit()
    make_client(4, registered_at=msk("2023-03-20 09:00"))
    make_client(5, registered_at=msk("2023-03-20 09:00"), status="closed")
    make_client(6, registered_at=msk("2023-03-20 09:00"))
    services.join(context.at(msk("2023-03-28 10:00")), 2, code_1)  # 2 was referred by 1
    services.join(context.at(msk("2023-03-29 10:00")), 6, code_1)
    now = context.at(msk("2023-03-31 10:00"))
    cases: dict[str, Refusal] = {
        "unknown_client": (lambda p: services.join(p, 999, code_1), ClientNotFound),
        "malformed": (lambda p: services.join(p, 4, "12345"), errors.CodeMalformed),
        "not_found": (lambda p: services.join(p, 4, "abcdefabc"), errors.CodeNotFound),
        "closed_referrer": (lambda p: services.join(p, 4, code_3), errors.ReferrerClosed),
        "own": (lambda p: services.join(p, 1, code_1), errors.OwnCode),
        "twice": (lambda p: services.join(p, 2, code_1), errors.CodeAlreadyApplied),
        "cycle": (lambda p: services.join(p, 1, code_2), errors.CodeCycle),
        "window": (
            lambda p: services.join(p.at(msk("2023-04-20 09:01")), 4, code_1),
            errors.ApplyWindowClosed,
        ),
        "closed_referee": (lambda p: services.join(p, 5, code_1), ClientClosed),
        "already_member": (lambda p: services.join(p, 1), errors.AlreadyMember),
        "backdated": (
            lambda p: services.join(p.at(msk("2023-03-28 12:00")), 4, code_1),
            errors.ActivationOutOfOrder,
        ),
    }
    action, refusal = cases[case]
    before = _counts()
    with pytest.raises(refusal):
        action(now)
    assert _counts() == before


def test_the_database_enforces_one_referral_per_referee(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    make_member(context, 3, msk("2023-03-01 09:00"))
    make_client(2, registered_at=msk("2023-03-20 09:00"))
    services.join(context, 2, code)
    db.session.add(Referral(referrer_id=3, referee_id=2, activated_at=msk("2023-03-31 13:00")))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO members (client_id, code, joined_at) VALUES (3, 'abc', '2023-01-01')",
        "INSERT INTO members (client_id, code, joined_at) VALUES (3, '{code}', '2023-01-01')",
        "UPDATE grants SET percent = 120",
        "UPDATE grants SET percent = 0",
        "UPDATE grants SET ends_at = '2000-01-01'",
        "UPDATE grants SET level = 0 WHERE reason = 'referrer'",
        "UPDATE grants SET terms_version = 99",  # no such version of the terms
        "INSERT INTO sms_packs (client_id, referral_id, size, granted_at, terms_version) "
        "SELECT referrer_id, id, 0, activated_at, 1 FROM referrals",
        "INSERT INTO sms_packs (client_id, referral_id, size, granted_at) "
        "SELECT referrer_id, id, 1000, activated_at FROM referrals",  # names no version
        "UPDATE program_terms SET referee_percent = 0",
        "UPDATE program_terms SET max_discount_percent = 101",
        "UPDATE program_terms SET ends_at = effective_from",
        "UPDATE program_terms SET status = 'maybe'",
        "INSERT INTO referrals (referrer_id, referee_id, activated_at) "
        "VALUES (77, 1, '2023-01-01')",
        "UPDATE clients SET status = 'frozen'",
    ],
)
def test_the_database_refuses_invalid_rows(ctx: Flask, context: Context, statement: str) -> None:
    code = make_member(context, 1, msk("2023-03-01 09:00"))
    make_client(2, registered_at=msk("2023-03-20 09:00"))
    services.join(context, 2, code)
    make_client(3)
    with pytest.raises(IntegrityError):
        db.session.execute(text(statement.format(code=code)))
        db.session.commit()
    db.session.rollback()
