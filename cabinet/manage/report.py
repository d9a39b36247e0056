"""/manage/report: «Отчет для финансов» — a month's grants, discount owed, rewards and SMS
packs, on the page and as CSV (the rules: cabinet/finance/rules.py, docs/finance.md)."""

from __future__ import annotations

from flask import Blueprint, Response, make_response, render_template, request

from cabinet.auth.roles import manager_required
from cabinet.clock import current_context
from cabinet.errors import ProgramRefusal
from cabinet.finance import present, queries
from cabinet.finance.rules import Month, month_of, parse_month
from cabinet.manage import export

bp = Blueprint("report", __name__, url_prefix="/manage")


def _month() -> Month:
    """`?month=2026-11`, by default the cabinet's current month; raises `MonthInvalid`."""
    context = current_context()
    raw = request.args.get("month", "")
    return parse_month(raw) if raw else month_of(context.clock.now(), context.timezone)


@bp.get("/report")
@manager_required
def index() -> tuple[str, int]:
    """The month's figures by version of the terms, a month picker, «Скачать CSV»."""
    try:
        month = _month()
    except ProgramRefusal as refusal:
        return render_template(
            "manage/report.html",
            month=None,
            typed="",  # the refused text is in the message; the field holds months only
            problem=refusal.message,
            lines=[],
            columns=present.COLUMNS,
        ), 400
    built = queries.build(month, current_context().timezone)
    return render_template(
        "manage/report.html",
        month=month,
        typed=month.key,
        problem=None,
        lines=present.lines(built),
        columns=present.COLUMNS,
    ), 200


@bp.get("/report.csv")
@manager_required
def csv() -> Response:
    """The same month as CSV: UTF-8 with a BOM, «;» between columns (as the dashboard's)."""
    try:
        month = _month()
    except ProgramRefusal as refusal:
        response = make_response(refusal.message + "\n", 400)
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return response
    built = queries.build(month, current_context().timezone)
    body = "\ufeff" + export.liability_csv(month.key, present.lines(built))
    response = make_response(body)
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=referral-report-{month.key}.csv"
    )
    return response
