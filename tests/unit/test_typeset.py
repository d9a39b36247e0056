"""The `typo` block: non-breaking spaces once per response, however the blocks nest."""

from __future__ import annotations

import pytest
from jinja2 import DictLoader, Environment

from cabinet import typeset
from cabinet.texts import NBSP

TEMPLATES = {
    "page.html": (
        "{% typo %}<h1>Скидка в 10 %</h1>{% block tab %}{% typo %}"
        "<p>Друг и вы — с выгодой</p>{% endtypo %}{% endblock %}{% endtypo %}"
    ),
}


@pytest.fixture
def env() -> Environment:
    return Environment(loader=DictLoader(TEMPLATES), autoescape=True, extensions=[typeset.Typeset])


def test_nested_blocks_are_typeset_once_by_the_outermost(
    env: Environment, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    original = typeset.nbsp_html
    monkeypatch.setattr(typeset, "nbsp_html", lambda html: seen.append(html) or original(html))
    html = env.get_template("page.html").render()
    assert len(seen) == 1
    assert f"Скидка в{NBSP}10{NBSP}%" in html
    assert f"Друг и{NBSP}вы{NBSP}— с{NBSP}выгодой" in html


def test_a_block_rendered_alone_typesets_itself(env: Environment) -> None:
    template = env.get_template("page.html")
    context = template.new_context({})
    html = "".join(template.blocks["tab"](context))
    assert html == f"<p>Друг и{NBSP}вы{NBSP}— с{NBSP}выгодой</p>"


def test_what_a_person_typed_is_escaped_before_it_is_typeset(env: Environment) -> None:
    html = env.from_string("{% typo %}<p>{{ name }}</p>{% endtypo %}").render(name="<b>и я</b>")
    assert html == f"<p>&lt;b&gt;и{NBSP}я&lt;/b&gt;</p>"
