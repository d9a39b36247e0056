"""Jinja filters and globals for Russian text: numbers and percents for ru-RU, the `typo` block
of non-breaking spaces (cabinet/typeset.py), and the program's terms in force for the templates
(`terms`, read once per request, only by a page that uses them); imported macros handed
out as kept (cabinet/templating.py)."""

from __future__ import annotations

from flask import Flask
from werkzeug.local import LocalProxy

from cabinet import templating
from cabinet.clock import current_context
from cabinet.referral_page import terms_schedule
from cabinet.referrals.terms import TermsWording, words
from cabinet.texts import number, percent
from cabinet.typeset import Typeset


def terms_in_force() -> TermsWording:
    """The words of the terms in force at the cabinet's clock now."""
    return words(terms_schedule().at(current_context().clock.now()))


def init_app(app: Flask) -> None:
    templating.use(app.jinja_env)
    app.add_template_filter(percent, "percent")
    app.add_template_filter(number, "number")
    app.jinja_env.add_extension(Typeset)
    app.jinja_env.globals["terms"] = LocalProxy(terms_in_force)
