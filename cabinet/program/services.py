"""Saving, publishing and withdrawing versions of the terms: one transaction each, with its
audit entry. Only a manager with the right (`Manager.edits_program_terms`) may do any of it.

A published version never changes: grants and SMS packs name it. It may be withdrawn only
before it starts (nothing can have been granted under it yet).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select

from cabinet.audit import services as audit
from cabinet.auth.errors import ManagerNotFound
from cabinet.auth.models import Manager
from cabinet.clock import Context
from cabinet.db import db, transaction
from cabinet.moments import iso_moment, show_moment
from cabinet.program import errors, rules
from cabinet.referrals import queries as referral_queries
from cabinet.referrals.models import ProgramTerms, ladder_json
from cabinet.referrals.services import lock_terms

SAVED, PUBLISHED, WITHDRAWN = "terms_draft_saved", "terms_published", "terms_withdrawn"
ACTIONS = (SAVED, PUBLISHED, WITHDRAWN)


def _editor(manager_id: int) -> Manager:
    manager = db.session.get(Manager, manager_id)
    if manager is None:
        raise ManagerNotFound(manager_id)
    if not manager.edits_program_terms:
        raise errors.TermsRightMissing()
    return manager


def _locked(version: int) -> ProgramTerms:
    row = db.session.scalars(
        select(ProgramTerms)
        .where(ProgramTerms.id == version)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        raise errors.TermsNotFound(version)
    return row


def _fill(row: ProgramTerms, draft: rules.Draft) -> None:
    row.title = draft.title
    row.effective_from = draft.effective_from
    row.ends_at = draft.ends_at
    row.referee_percent = draft.referee_percent
    row.referee_months = draft.referee_months
    row.apply_window_months = draft.apply_window_months
    row.max_discount_percent = draft.max_discount_percent
    row.ladder = ladder_json(draft.ladder)


def _details(row: ProgramTerms, context: Context) -> dict[str, object]:
    zone = context.timezone
    return {
        "version": row.id,
        "title": row.title,
        "effective_from": iso_moment(row.effective_from, zone),
        "ends_at": None if row.ends_at is None else iso_moment(row.ends_at, zone),
        "referee_percent": row.referee_percent,
        "referee_months": row.referee_months,
        "apply_window_months": row.apply_window_months,
        "max_discount_percent": row.max_discount_percent,
        "ladder": row.ladder,
    }


def save_draft(
    context: Context, manager_id: int, version: int | None, values: Mapping[str, str]
) -> int:
    """Create a draft (`version` None) or change one; returns its version number."""
    with transaction():
        _editor(manager_id)
        now = context.clock.now()
        draft = rules.validate(values, now, context.timezone)
        if version is None:
            row = ProgramTerms(status="draft", created_at=now, created_by=manager_id)
            db.session.add(row)
        else:
            row = _locked(version)
            if row.status != "draft":
                raise errors.NotADraft(version)
        _fill(row, draft)
        db.session.flush()
        audit.record(now, manager_id, SAVED, details=_details(row, context))
        number: int = row.id
    return number


def publish(context: Context, manager_id: int, version: int, confirmed: bool) -> datetime:
    """Publish a draft, after the manager confirmed the preview; it is checked again now (its
    start must still be later than now, and a campaign may not overlap a published one).
    Returns the moment it takes effect (its start, or the end of a campaign running then)."""
    if not confirmed:
        raise errors.ConfirmationMissing()
    with transaction():
        # The activations' lock, before the clock: no activation is under way while the start
        # is checked against now, and the next ones read the clock after this commit.
        lock_terms(for_change=True)
        _editor(manager_id)
        row = _locked(version)
        if row.status != "draft":
            raise errors.NotADraft(version)
        now = context.clock.now()
        zone = context.timezone
        values = rules.values_of(
            row.as_terms(),
            row.title,
            row.effective_from.astimezone(zone).replace(tzinfo=None).isoformat(),
            ""
            if row.ends_at is None
            else row.ends_at.astimezone(zone).replace(tzinfo=None).isoformat(),
        )
        rules.validate(values, now, zone)
        schedule = referral_queries.schedule()
        rules.check_campaigns(schedule, row.as_version(), zone)
        row.status = "published"
        row.published_at = now
        row.published_by = manager_id
        audit.record(now, manager_id, PUBLISHED, details=_details(row, context))
        starts = schedule.takes_effect(row.as_version())
    return starts


def withdraw(context: Context, manager_id: int, version: int, confirmed: bool) -> None:
    """Withdraw a published version that has not started yet (or delete nothing: a draft is
    withdrawn too, so the list keeps what was proposed)."""
    if not confirmed:
        raise errors.ConfirmationMissing()
    with transaction():
        lock_terms(for_change=True)  # as publishing: no activation reads the version meanwhile
        _editor(manager_id)
        row = _locked(version)
        now = context.clock.now()
        if row.status == "withdrawn":
            raise errors.CannotWithdraw(version, "она уже отозвана")
        if row.status == "published" and row.effective_from <= now:
            raise errors.CannotWithdraw(
                version,
                f"она действует с {show_moment(row.effective_from, context.timezone)}, "
                "и по ней уже могли быть выданы скидки",
            )
        row.status = "withdrawn"
        row.withdrawn_at = now
        row.withdrawn_by = manager_id
        audit.record(now, manager_id, WITHDRAWN, details=_details(row, context))
