"""Versions of the terms on a real database: version 1 from the migration, a campaign published
by a manager, activations judged by the version in force at their moment, and the panel's
draft, preview, publish and withdraw with their audit entries and the right they need."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pytest
from flask import Flask
from sqlalchemy import select

from cabinet.audit.models import AuditEntry
from cabinet.auth.services import create_manager
from cabinet.billing import rules as billing
from cabinet.billing.queries import invoice_preview
from cabinet.clock import Context
from cabinet.db import db
from cabinet.events.models import Event
from cabinet.moments import show_moment
from cabinet.program import errors
from cabinet.program import queries as program_queries
from cabinet.program import services as terms
from cabinet.referrals import queries, services
from cabinet.referrals.models import Grant, ProgramTerms, SmsPack
from cabinet.referrals.revocation import revoke_referral
from cabinet.referrals.rules import HELP_PAGE_TERMS
from tests.conftest import MOSCOW, msk
from tests.factories import make_client, make_member

# «В декабре — 40% за первого друга»: a campaign, 01.12.2023 – 01.01.2024.
CAMPAIGN = {
    "title": "Декабрьская акция",
    "effective_from": "2023-12-01T00:00",
    "ends_at": "2024-01-01T00:00",
    "referee_percent": "30",
    "referee_months": "2",
    "apply_window_months": "1",
    "max_discount_percent": "100",
    "level-1-percent": "40",
    "level-1-months": "3",
    "level-2-percent": "60",
    "level-2-months": "6",
    "level-2-sms_pack": "500",
    "level-3-percent": "80",
    "level-3-months": "12",
}


def _editor() -> int:
    return create_manager(
        "pm@example.ru", "password-123", "Продакт", msk("2023-01-01"), edits_program_terms=True
    ).id


def _publish(context: Context, values: Mapping[str, str] = CAMPAIGN) -> int:
    manager = _editor()
    version = terms.save_draft(context, manager, None, values)
    terms.publish(context, manager, version, confirmed=True)
    return version


def _join(context: Context, referee: int, code: str, at: datetime) -> None:
    make_client(referee, registered_at=at)
    services.join(context.at(at), referee, code)


def test_the_migration_writes_version_1_with_the_help_pages_numbers(ctx: Flask) -> None:
    row = db.session.get(ProgramTerms, 1)
    assert row is not None and row.status == "published" and row.ends_at is None
    assert row.as_terms() == HELP_PAGE_TERMS
    assert queries.schedule().at(msk("2023-03-31 10:03")) == HELP_PAGE_TERMS


def test_a_referral_during_a_campaign_gets_its_terms_and_one_after_it_the_previous_ones(
    ctx: Flask, context: Context
) -> None:
    version = _publish(context.at(msk("2023-11-01 12:00")))
    code = make_member(context, 1, msk("2023-10-01 09:00"))
    _join(context, 2, code, msk("2023-12-10 10:00"))  # during the campaign
    _join(context, 3, code, msk("2024-01-10 10:00"))  # after it
    grants = db.session.scalars(select(Grant).order_by(Grant.starts_at, Grant.id)).all()
    shown = [(g.client_id, g.reason, g.level, g.percent, g.terms_version) for g in grants]
    assert shown == [
        (2, "referee", None, 30, version),
        (1, "referrer", 1, 40, version),
        (3, "referee", None, 20, 1),
        # The ladder continues by level: level 2 of version 1 (the campaign's grant was running).
        (1, "referrer", 2, 40, 1),
    ]
    assert show_moment(grants[0].ends_at, MOSCOW) == "09.02.2024 10:00"  # the campaign's 2 months
    # «Ваша скидка» at each moment, and the events name the version.
    assert queries.standing(1, msk("2023-12-20 12:00")).discount_percent == 40
    issued = db.session.scalars(
        select(Event).where(Event.kind == "grant_issued").order_by(Event.id)
    ).all()
    assert [e.data["terms_version"] for e in issued] == [version, version, 1, 1]


def test_nothing_already_granted_changes_when_terms_change(ctx: Flask, context: Context) -> None:
    code = make_member(context, 1, msk("2023-10-01 09:00"))
    _join(context, 2, code, msk("2023-11-10 10:00"))
    before = [(g.id, g.percent, g.starts_at, g.ends_at) for g in db.session.scalars(select(Grant))]
    _publish(context.at(msk("2023-11-15 12:00")))
    after = [(g.id, g.percent, g.starts_at, g.ends_at) for g in db.session.scalars(select(Grant))]
    assert after == before


def test_packs_record_the_version_and_a_size_is_never_given_twice(
    ctx: Flask, context: Context
) -> None:
    version = _publish(context.at(msk("2023-11-01 12:00")))
    code = make_member(context, 1, msk("2023-10-01 09:00"))
    _join(context, 2, code, msk("2023-11-20 10:00"))
    _join(context, 3, code, msk("2023-12-02 10:00"))  # count 2: the campaign's pack of 500
    _join(context, 4, code, msk("2024-01-02 10:00"))  # count 3: version 1's 1200
    granted = select(SmsPack).order_by(SmsPack.granted_at)  # a heap has no order of its own
    packs = [(p.size, p.terms_version) for p in db.session.scalars(granted)]
    assert packs == [(500, version), (1200, 1)]


def test_a_revocation_replays_each_activation_under_its_own_version(
    ctx: Flask, context: Context
) -> None:
    version = _publish(context.at(msk("2023-11-01 12:00")))
    code = make_member(context, 1, msk("2023-10-01 09:00"))
    _join(context, 2, code, msk("2023-11-20 10:00"))
    _join(context, 3, code, msk("2023-12-02 10:00"))
    referral_of_2 = db.session.scalars(select(Grant.referral_id).where(Grant.client_id == 2)).one()
    manager = db.session.scalar(select(AuditEntry.manager_id))
    assert manager is not None
    revoke_referral(context.at(msk("2023-12-05 10:00")), manager, referral_of_2, "проверка")
    held = db.session.scalars(
        select(Grant).where(Grant.client_id == 1, Grant.revoked_at.is_(None))
    ).all()
    # What remains is client 3's activation alone: level 1 of the campaign.
    assert [(g.level, g.percent, g.terms_version) for g in held] == [(1, 40, version)]


def test_billing_caps_each_day_by_the_terms_in_force_then(ctx: Flask, context: Context) -> None:
    capped = {**CAMPAIGN, "max_discount_percent": "30", "referee_percent": "20"}
    _publish(context.at(msk("2023-11-01 12:00")), capped)
    code = make_member(context, 1, msk("2023-10-01 09:00"))
    _join(context, 2, code, msk("2023-11-20 10:00"))  # version 1: 20%
    _join(context, 3, code, msk("2023-11-21 10:00"))  # version 1: 40%
    line = billing.Line(
        "service",
        3_100_000,
        billing.Period(datetime(2023, 12, 1).date(), datetime(2023, 12, 31).date()),
    )
    _, invoice = invoice_preview(context, 1, [line], msk("2023-12-01 12:00"))
    # A day carries the discount in force when it ends: 1–30.12 under the campaign (40% capped
    # at 30%), 31.12 ends on 01.01 00:00, when version 1 (cap 100%) is back.
    segments = invoice.lines[0].segments
    assert [(s.period.days if s.period else 0, s.percent) for s in segments] == [(30, 30), (1, 40)]


# ---- the panel's services --------------------------------------------------------------------


def test_only_a_manager_with_the_right_changes_terms(ctx: Flask, context: Context) -> None:
    support = create_manager("support@example.ru", "password-123", "Поддержка", msk("2023-01-01"))
    with pytest.raises(errors.TermsRightMissing):
        terms.save_draft(context.at(msk("2023-11-01 12:00")), support.id, None, CAMPAIGN)
    assert db.session.scalar(select(ProgramTerms.id).where(ProgramTerms.id != 1)) is None


def test_an_invalid_draft_is_refused_with_a_russian_message_per_field(
    ctx: Flask, context: Context
) -> None:
    manager = _editor()
    bad = {
        **CAMPAIGN,
        "effective_from": "2023-10-01T00:00",
        "referee_percent": "120",
        "level-2-percent": "30",
        "level-3-months": "0",
        "level-5-percent": "90",
    }
    with pytest.raises(errors.TermsInvalid) as refused:
        terms.save_draft(context.at(msk("2023-11-01 12:00")), manager, None, bad)
    assert refused.value.errors == {
        "effective_from": "Начало не может быть в прошлом: сейчас 01.11.2023 12:00.",
        "referee_percent": "Скидку новому клиенту — целое число от 1 до 100.",
        "level-2-percent": "Скидка уровня 2 не может быть меньше, чем у уровня 1 (40%).",
        "level-3-months": "Срок уровня 3 — целое число от 1 до 120.",
        "level-5-percent": "Уровни идут подряд: заполните уровень 4 или удалите этот.",
    }
    assert db.session.scalar(select(ProgramTerms.id).where(ProgramTerms.id != 1)) is None


def test_a_draft_is_not_in_force_until_published_and_publishing_is_audited(
    ctx: Flask, context: Context
) -> None:
    manager = _editor()
    now = context.at(msk("2023-11-01 12:00"))
    version = terms.save_draft(now, manager, None, CAMPAIGN)
    assert queries.schedule().at(msk("2023-12-10 10:00")).version == 1
    with pytest.raises(errors.ConfirmationMissing):
        terms.publish(now, manager, version, confirmed=False)
    terms.publish(now, manager, version, confirmed=True)
    assert queries.schedule().at(msk("2023-12-10 10:00")).version == version
    with pytest.raises(errors.NotADraft):
        terms.save_draft(now, manager, version, CAMPAIGN)  # a published version never changes
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["terms_draft_saved", "terms_published"]


def test_a_draft_whose_start_has_passed_cannot_be_published(ctx: Flask, context: Context) -> None:
    manager = _editor()
    version = terms.save_draft(context.at(msk("2023-11-01 12:00")), manager, None, CAMPAIGN)
    with pytest.raises(errors.TermsInvalid) as refused:
        terms.publish(context.at(msk("2023-12-02 12:00")), manager, version, confirmed=True)
    assert "effective_from" in refused.value.errors


def test_withdraw_before_the_start_only(ctx: Flask, context: Context) -> None:
    version = _publish(context.at(msk("2023-11-01 12:00")))
    pm = db.session.scalar(select(AuditEntry.manager_id))
    assert pm is not None
    with pytest.raises(errors.CannotWithdraw):
        terms.withdraw(context.at(msk("2023-12-01 00:00")), pm, version, confirmed=True)
    terms.withdraw(context.at(msk("2023-11-30 23:59")), pm, version, confirmed=True)
    assert queries.schedule().at(msk("2023-12-10 10:00")).version == 1
    actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-1] == "terms_withdrawn"


def test_the_preview_counts_members_whose_next_referral_changes_and_the_liability(
    ctx: Flask, context: Context
) -> None:
    code_1 = make_member(context, 1, msk("2023-10-01 09:00"))
    make_member(context, 5, msk("2023-10-01 09:00"))  # no referrals: level 1 next
    _join(context, 2, code_1, msk("2023-11-20 10:00"))  # 1 holds level 1: level 2 next
    manager = _editor()
    version = terms.save_draft(context.at(msk("2023-11-25 12:00")), manager, None, CAMPAIGN)
    row = program_queries.find(version)
    preview = program_queries.preview(row, msk("2023-11-25 12:00"), MOSCOW)
    assert preview.at == msk("2023-12-01 00:00")
    assert preview.members == 3  # 1, 5 and the referee 2 (a member too)
    # Every member's next referral differs: 40% instead of 20% at level 1, 60% for 6 months
    # instead of 40% for 6 months at level 2.
    assert sorted(d.client_id for d in preview.different) == [1, 2, 5]
    by_id = {d.client_id: d for d in preview.different}
    assert (by_id[1].before.percent, by_id[1].after.percent) == (40, 60)
    assert (by_id[5].before.percent, by_id[5].after.percent) == (20, 40)
    # Level 1 (5 and 2): 20 points more for 90 days; level 2 (1): 20 points more for 182 days;
    # the welcome: 30% for 61 days instead of 20% for 90, for each of 3 new clients.
    assert preview.referrer_change == round(2 * 20 * 90 / 30 + 20 * 182 / 30, 1)
    assert preview.referee_change == round(3 * (30 * 61 / 30 - 20 * 90 / 30), 1)


def test_the_pages_one_statement_reads_what_the_standing_and_the_history_read(
    ctx: Flask, context: Context
) -> None:
    """The full page reads the standing, the packs and the first page of «История скидок» in
    one statement (`standing_packs_and_history`): the same rows as the separate reads, a
    campaign's grant with the campaign's end, at every page size."""
    from cabinet.clients.models import load_record

    version = _publish(context.at(msk("2023-11-01 12:00")))
    code = make_member(context, 1, msk("2023-10-01 09:00"))
    _join(context, 2, code, msk("2023-12-10 10:00"))  # a campaign grant, its end recorded
    _join(context, 3, code, msk("2024-01-10 10:00"))
    _join(context, 4, code, msk("2024-01-11 10:00"))  # count 3: level 3 and its SMS pack
    at = msk("2024-01-20 12:00")
    record = load_record(1)
    assert record is not None
    history = queries.history(1, limit=10, newest_first=True)
    assert [g.campaign_ends_at for g in history][-1] == msk("2024-01-01 00:00")
    assert [g.terms_version for g in history][-1] == version
    for limit in (1, 2, len(history), 10):
        standing, packs, page = queries.standing_packs_and_history(record, at, history_limit=limit)
        assert page == queries.history(1, limit=limit, newest_first=True)
        assert (standing, packs) == queries.standing_and_packs(record, at)
    assert page == history and len(history) == 3
    assert (standing.discount_percent, [p.size for p in packs]) == (60, [1200])
