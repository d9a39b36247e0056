"""Jinja filters and globals for Russian text: numbers and percents for ru-RU, non-breaking
spaces, and the program's terms (from rules.py) for the templates."""

from __future__ import annotations

from flask import Flask
from markupsafe import Markup

from cabinet.referrals.terms import TERMS
from cabinet.texts import nbsp_html, number, percent


def typo(html: str) -> Markup:
    """`{% filter typo %}…{% endfilter %}`: non-breaking spaces in the text of a block."""
    # The block's own output, already escaped by autoescape.
    return Markup(nbsp_html(str(html)))  # noqa: S704  # nosec B704


def init_app(app: Flask) -> None:
    app.add_template_filter(percent, "percent")
    app.add_template_filter(number, "number")
    app.add_template_filter(typo, "typo")
    app.jinja_env.globals["terms"] = TERMS
