"""/manage/terms: «Условия программы» — the versions, a draft editor, the preview, publishing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from cabinet.auth.roles import manager_required
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal
from cabinet.manage import changes, way_back
from cabinet.moments import show_moment
from cabinet.program import errors, queries, rules, services
from cabinet.referral_page import LadderLine, ladder_lines
from cabinet.referrals.models import ProgramTerms
from cabinet.referrals.rules import Schedule, TermsNumbers, Version
from cabinet.texts import months, number, percent

bp = Blueprint("terms", __name__, url_prefix="/manage/terms")

STATUS_NAMES = {"draft": "черновик", "published": "опубликована", "withdrawn": "отозвана"}


@dataclass(frozen=True)
class TermsView:
    """One version as the panel shows it: every number in words, the ladder as a table."""

    number: int
    title: str
    period: str  # «с 01.12.2026 00:00 до 01.01.2027 00:00», «с начала программы»
    referee: str  # «20 % на 3 месяца»
    window: str
    cap: str
    ladder: tuple[LadderLine, ...]
    changes: tuple[str, ...]  # against the version in force before it starts (in the list)


def _local(moment: datetime) -> str:
    """A moment for `<input type=datetime-local>` in the cabinet's zone."""
    return moment.astimezone(current_context().timezone).strftime("%Y-%m-%dT%H:%M")


def terms_view(version: Version, published: Schedule | None = None) -> TermsView:
    zone = current_context().timezone
    t: TermsNumbers = version.terms
    period = (
        "с начала программы"
        if version.terms.version == 1
        else f"с {show_moment(version.effective_from, zone)}"
    )
    if version.ends_at is not None:
        period += f" до {show_moment(version.ends_at, zone)}, затем прежние условия"
    return TermsView(
        number=t.version,
        title=version.title,
        period=period,
        referee=f"{percent(t.referee_percent)} на {months(t.referee_months)}",
        window=months(t.apply_window_months),
        cap=percent(t.max_discount_percent),
        ladder=ladder_lines(t),
        changes=() if published is None else changes.against_before(version, published),
    )


def signed(value: float) -> str:
    """A change in ru-RU with its sign: «+89,0», «−12,5», «0,0» (as the dashboard's «842,3»)."""
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return sign + number(abs(value), 1)


def _may_edit() -> bool:
    return bool(getattr(current_user, "edits_program_terms", False))


@bp.get("")
@manager_required
def index() -> str:
    """The version in force, the upcoming ones, drafts, the past and the withdrawn."""
    now = current_context().clock.now()
    found = queries.versions(now)
    published = Schedule(
        (
            found.in_force,
            *(
                line.version
                for line in (*found.upcoming, *found.past)
                if line.status == "published"
            ),
        )
    )
    return render_template(
        "manage/terms.html",
        found=found,
        current=terms_view(found.in_force, published),
        view_of=lambda version: terms_view(version, published),
        may_edit=_may_edit(),
        way_back=way_back.to_story(),
    )


def _editor(
    row: ProgramTerms | None,
    values: dict[str, str],
    problems: dict[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    context = current_context()
    now = context.clock.now()
    preview = None
    if row is not None and row.status == "draft" and not problems:
        preview = queries.preview(row, now, context.timezone)
    return render_template(
        "manage/terms_edit.html",
        row=row,
        view=None if row is None else terms_view(row.as_version()),
        status_name=None if row is None else STATUS_NAMES[row.status],
        values=values,
        problems=problems or {},
        preview=preview,
        levels=range(1, rules.MAX_LEVELS + 1),
        may_edit=_may_edit(),
        may_withdraw=row is not None
        and row.status != "withdrawn"
        and (row.status == "draft" or row.effective_from > now),
        horizon=rules.HORIZON_MONTHS,
        signed=signed,
        show=lambda moment: show_moment(moment, context.timezone),
    ), status


def _values(row: ProgramTerms) -> dict[str, str]:
    return rules.values_of(
        row.as_terms(),
        row.title,
        _local(row.effective_from),
        "" if row.ends_at is None else _local(row.ends_at),
    )


def _refused(refusal: ProgramRefusal) -> tuple[str, int]:
    status = 403 if isinstance(refusal, errors.TermsRightMissing) else 409
    if isinstance(refusal, errors.TermsNotFound):
        status = 404
    return render_template(
        "errors/error.html", status=status, title="Условия программы", text=refusal.message
    ), status


@bp.route("/new", methods=["GET", "POST"])
@manager_required
def new() -> BaseResponse | tuple[str, int]:
    """A new draft, starting from the terms in force (its start: tomorrow, 00:00)."""
    context = current_context()
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            number = services.save_draft(context, current_user.id, None, values)
        except errors.TermsInvalid as invalid:
            return _editor(None, values, invalid.errors, 422)
        except ProgramRefusal as refusal:
            return _refused(refusal)
        flash(f"Черновик версии {number} сохранен. Проверьте предпросмотр.", "success")
        return redirect(url_for("terms.edit", version=number), 303)
    now = context.clock.now()
    tomorrow = (now.astimezone(context.timezone) + timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    found = queries.versions(now)
    values = rules.values_of(found.in_force.terms, "", _local(tomorrow), "")
    return _editor(None, values)


@bp.route("/<int:version>", methods=["GET", "POST"])
@manager_required
def edit(version: int) -> BaseResponse | tuple[str, int]:
    """A version: its numbers; for a draft the editor, the preview and «Опубликовать»."""
    try:
        row = queries.find(version)
    except ProgramRefusal as refusal:
        return _refused(refusal)
    if request.method == "POST":
        values = request.form.to_dict()
        try:
            services.save_draft(current_context(), current_user.id, version, values)
        except errors.TermsInvalid as invalid:
            return _editor(row, values, invalid.errors, 422)
        except ProgramRefusal as refusal:
            return _refused(refusal)
        flash("Черновик сохранен. Предпросмотр пересчитан.", "success")
        return redirect(url_for("terms.edit", version=version), 303)
    return _editor(row, _values(row))


@bp.post("/<int:version>/publish")
@manager_required
def publish(version: int) -> BaseResponse | tuple[str, int]:
    """Publish a draft (the manager confirms having seen the preview)."""
    context = current_context()
    try:
        starts = services.publish(
            context, current_user.id, version, request.form.get("confirm") == "yes"
        )
    except errors.TermsInvalid as invalid:
        flash("Черновик нельзя опубликовать: " + " ".join(invalid.errors.values()), "error")
        return redirect(url_for("terms.edit", version=version), 303)
    except errors.ConfirmationMissing as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("terms.edit", version=version), 303)
    except ProgramRefusal as refusal:
        return _refused(refusal)
    flash(
        f"Версия {version} опубликована: действует с {show_moment(starts, context.timezone)}.",
        "success",
    )
    return redirect(url_for("terms.index"), 303)


@bp.post("/<int:version>/withdraw")
@manager_required
def withdraw(version: int) -> BaseResponse | tuple[str, int]:
    """Withdraw a draft, or a published version before it starts."""
    try:
        services.withdraw(
            current_context(), current_user.id, version, request.form.get("confirm") == "yes"
        )
    except errors.ConfirmationMissing as refusal:
        flash(refusal.message, "error")
        return redirect(url_for("terms.edit", version=version), 303)
    except ProgramRefusal as refusal:
        return _refused(refusal)
    flash(f"Версия {version} отозвана.", "success")
    return redirect(url_for("terms.index"), 303)
