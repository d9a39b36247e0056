"""Jinja filters and globals for Russian text: numbers and percents for ru-RU, non-breaking
spaces, and the program's terms in force for the templates (`terms`, read once per request,
only by a page that uses them)."""

from __future__ import annotations

from flask import Flask, g
from markupsafe import Markup
from werkzeug.local import LocalProxy

from cabinet.clock import current_program
from cabinet.referrals import queries
from cabinet.referrals.rules import Schedule
from cabinet.referrals.terms import Terms, words
from cabinet.texts import nbsp_html, number, percent


def typo(html: str) -> Markup:
    """`{% filter typo %}…{% endfilter %}`: non-breaking spaces in the text of a block."""
    # The block's own output, already escaped by autoescape.
    return Markup(nbsp_html(str(html)))  # noqa: S704  # nosec B704


def schedule() -> Schedule:
    """The published versions of the terms, read once per request."""
    if "terms_schedule" not in g:
        g.terms_schedule = queries.schedule()
    found: Schedule = g.terms_schedule
    return found


def terms_in_force() -> Terms:
    """The words of the terms in force at the cabinet's clock now."""
    return words(schedule().at(current_program().clock.now()))


def init_app(app: Flask) -> None:
    app.add_template_filter(percent, "percent")
    app.add_template_filter(number, "number")
    app.add_template_filter(typo, "typo")
    app.jinja_env.globals["terms"] = LocalProxy(terms_in_force)
