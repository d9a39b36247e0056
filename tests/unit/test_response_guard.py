"""The response guard (tests/support/response_guard.py) finds what a person must not read, and
only that."""

from __future__ import annotations

import pytest

from tests.support.response_guard import check, hits


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
