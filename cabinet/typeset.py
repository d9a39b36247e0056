"""`{% typo %}…{% endtypo %}`: Russian non-breaking spaces (cabinet.texts.nbsp) in the text of
a block of HTML, for every Jinja environment of the cabinet (pages and the invitation letter).

A page's blocks nest (the shell, the page, a tab: each must be typeset when htmx renders it
alone), and a filter would work the inner text over again at every level: four passes over the
referral page. Here a block inside another `typo` block leaves the work to the outermost one, so
each response is typeset once, however its blocks nest; a block rendered alone typesets itself.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser
from markupsafe import Markup

from cabinet.texts import nbsp_html

# How many `typo` blocks are being rendered around this point (per thread and task).
_depth: ContextVar[int] = ContextVar("typeset_depth", default=0)


class Typeset(Extension):
    tags = {"typo"}

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endtypo",), drop_needle=True)
        return nodes.CallBlock(self.call_method("_typeset"), [], [], body).set_lineno(lineno)

    def _typeset(self, caller: Callable[[], str]) -> str:
        outer = _depth.get()
        token = _depth.set(outer + 1)
        try:
            html = caller()  # already escaped by autoescape
        finally:
            _depth.reset(token)
        if outer:
            return html
        return Markup(nbsp_html(str(html)))  # noqa: S704  # nosec B704
