"""The response guard (tests/support/response_guard.py) finds what a person must not read, and
only that."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.response_guard import check, could_hit, hits


@pytest.mark.parametrize(
    "html",
    [
        "<p>Лестница от {p0} до {max}</p>",
        "<td>None</td>",
        "<span>nan %</span>",
        "<p>+89.0 процент-месяцев</p>",
        "<p>Скидка <b>0.0%</b></p>",
    ],
)
def test_a_page_with_a_leftover_fails(html: str) -> None:
    assert hits(html)
    with pytest.raises(AssertionError, match="must not"):
        check(html, "/referral")


@pytest.mark.parametrize(
    "html",
    [
        '<script src="/static/vendor/htmx-2.0.11.min.js"></script><p>842,3</p>',
        "<p>Акция до 19.12.2026 15:47</p>",
        '<a href="/x?a=1.5" title="None">Ссылка</a>',
        "<style>.a{width:1.5rem}</style><p>20 %</p>",
        "<p>Адрес 127.0.0.1, версия 2.0.11</p>",
        '<textarea name="m">None {draft}</textarea>',
        "<p>Nonetheless, financial</p>",
    ],
)
def test_what_a_person_may_read_passes(html: str) -> None:
    assert hits(html) == []
    check(html, "/referral")


def test_the_test_client_runs_the_guard_on_every_html_response() -> None:
    """Through the suite's test client (whose responses are streamed iterators), an HTML page
    with a leftover fails the request's test; JSON and a clean page pass."""
    from flask import Flask

    from tests.conftest import ReadableClient

    app = Flask(__name__)
    app.test_client_class = ReadableClient

    @app.get("/leftover")
    def leftover() -> str:
        return "<p>Скидка {percent} до None</p>"

    @app.get("/clean")
    def clean() -> str:
        return "<p>Скидка 20 % до 19.12.2026</p>"

    @app.get("/json")
    def as_json() -> dict[str, object]:
        return {"value": None, "rate": 0.5}

    client = app.test_client()
    with pytest.raises(AssertionError, match="/leftover"):
        client.get("/leftover")
    assert client.get("/clean").status_code == 200
    assert client.get("/json").status_code == 200


def test_a_day_and_month_is_not_a_decimal_number() -> None:
    assert hits("<p>Новые условия с 15.04</p>") == []
    assert [hit.what for hit in hits("<p>скидка 15.40</p>")] == ["a decimal point"]


@given(
    st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                "<b>",
                "</b>",
                "<script>",
                "</script>",
                "&nbsp;",
                "&#123;",
                "&#125;",
                "{p0}",
                "None",
                "nan",
                "-",
                ".",
                ",",
                "1",
                "2.5",
                "89",
                " ",
                "\n",
                "\u00a0",
                "x",
                "<!-- c -->",
                "<td>",
                "</td>",
                "15.04",
                '<a title="1.5">',
                "</a>",
            ]
        ),  # fmt: skip
        max_size=30,
    )
)
def test_the_quick_look_misses_nothing_the_guard_would_find(pieces: list[str]) -> None:
    """`could_hit` clears a page without parsing it only when the guard would find nothing."""
    html = "".join(pieces)
    if hits(html):
        assert could_hit(html)
