"""An imported template of macros is handed out without working out the globals again
(cabinet/templating.py), and an importer with globals of its own still gets a module that sees
them, as Jinja does it."""

from __future__ import annotations

from collections import ChainMap
from typing import Any

import pytest
from jinja2 import DictLoader, Environment

from cabinet import templating

BODY = "{% block body %}{% import 'macros.html' as m %}[{{ m.hello() }}]{% endblock %}"
SOURCES = {
    "macros.html": "{% set _ = made() %}{% macro hello() %}{{ whom or who }}{% endmacro %}",
    "page.html": BODY,
    "letter.html": BODY,
}


class CountedGlobals(ChainMap):  # type: ignore[type-arg]
    """A template's globals that count how often a name is looked up in them."""

    lookups = 0

    def __contains__(self, key: object) -> bool:
        CountedGlobals.lookups += 1
        return super().__contains__(key)


def environment(kept: bool) -> tuple[Environment, list[int]]:
    env = Environment(loader=DictLoader(SOURCES), autoescape=True)
    made: list[int] = []
    env.globals["made"] = lambda: made.append(1) or ""
    env.globals["who"] = "всем"
    if kept:
        templating.use(env)
    macros = env.get_template("macros.html")
    macros.globals = CountedGlobals(*macros.globals.maps)
    CountedGlobals.lookups = 0
    return env, made


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "jinja alone"])
def test_a_page_rendered_again_gets_the_module_made_the_first_time(kept: bool) -> None:
    env, made = environment(kept)
    assert env.get_template("page.html").render() == "[всем]"
    first = CountedGlobals.lookups
    renders = [env.get_template("page.html").render() for _ in range(3)]
    assert renders == ["[всем]"] * 3
    assert len(made) == 1
    # What the class saves: Jinja alone looks every global of the page up in the macros'
    # globals at every import, to find none missing.
    again = CountedGlobals.lookups - first
    assert again == 0 if kept else again >= 3 * len(env.globals)


def test_an_importer_with_globals_of_its_own_gets_a_module_that_sees_them() -> None:
    env, made = environment(kept=True)
    assert env.get_template("page.html").render() == "[всем]"
    letter = env.get_template("letter.html", globals={"whom": "Альфа"})
    assert letter.render() == "[Альфа]"
    assert env.get_template("page.html").render() == "[всем]"
    assert len(made) == 2  # the kept module, and the letter's own


def test_the_cabinets_pages_use_it(app: Any) -> None:
    assert app.jinja_env.template_class is templating.KeptImports
