"""What no page may show a person: an unformatted `{name}` placeholder, the word `None`, `nan`,
or a number written with a decimal point (the cabinet writes «842,3», never «842.3»).

Every HTML response a test receives through the Flask test client is read here
(tests/conftest.py's `ReadableClient`), and the browser tests read each page they leave
(tests/browser/conftest.py): a hit fails the test that received it. Only the text a person reads
is read — the text between tags, outside <script>, <style>, <textarea> and <template>; attributes
(URLs, ids, `htmx-2.0.11.min.js`) are not text. Dates (`19.12.2026`), times and dotted versions
(`2.0.11`) are not decimal numbers: a number with more than one dot is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape
from html.parser import HTMLParser

PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
MISSING = re.compile(r"(?<![\w-])(None|nan|NaN)(?![\w-])")
# «89.0», «0.5»; not «30.03.2023», «2.0.11», «v1.2», «127.0.0.1»
DECIMAL = re.compile(r"(?<![\w.,])\d+\.\d+(?![\w.])")
# a day and a month, as a manager may type one in a title: «Новые условия с 15.04»
DAY_MONTH = re.compile(r"(0[1-9]|[12]\d|3[01])\.(0[1-9]|1[0-2])")
_RAW = {"script", "style", "textarea", "template"}


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._raw = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _RAW:
            self._raw += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _RAW and self._raw:
            self._raw -= 1

    def handle_data(self, data: str) -> None:
        if not self._raw and data.strip():
            self.pieces.append(" ".join(data.split()))


def visible_text(html: str) -> list[str]:
    """The texts between tags a person reads, one per text node, spaces collapsed."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.pieces


@dataclass(frozen=True)
class Hit:
    what: str
    text: str

    def __str__(self) -> str:
        return f"{self.what} in «{self.text[:120]}»"


def hits(html: str) -> list[Hit]:
    found: list[Hit] = []
    for text in visible_text(html):
        for what, pattern in (
            ("a placeholder", PLACEHOLDER),
            ("None/nan", MISSING),
            ("a decimal point", DECIMAL),
        ):
            shown = text.replace("\u00a0", " ")
            if any(
                not (pattern is DECIMAL and DAY_MONTH.fullmatch(match.group()))
                for match in pattern.finditer(shown)
            ):
                found.append(Hit(what, text))
    return found


# What a page rightly shows although the guard would object: a person's own words echoed back.
# A path prefix and a pattern of the text: nothing broader.
ECHOED_AS_TYPED: tuple[tuple[str, re.Pattern[str]], ...] = (
    # not a fault: the search echoes the query as typed («NaN», «None», «{x}»)
    ("/manage/clients", re.compile(r"^Никого не нашли по запросу «")),
)


def could_hit(html: str) -> bool:
    """Whether the page's whole source, entities decoded, has anything the guard looks for: the
    text a person reads is a part of it, so a source without one has no hit (and most pages are
    cleared here, without parsing them)."""
    source = unescape(html)
    return any(pattern.search(source) for pattern in (PLACEHOLDER, MISSING, DECIMAL))


def check(html: str, path: str) -> None:
    """Raise AssertionError naming every hit on the page at `path`."""
    if not could_hit(html):
        return
    problems = [
        hit
        for hit in hits(html)
        if not any(
            path.startswith(prefix) and pattern.search(hit.text)
            for prefix, pattern in ECHOED_AS_TYPED
        )
    ]
    if problems:
        raise AssertionError(
            f"{path}: a page shows a person what it must not:\n"
            + "\n".join(f"  {hit}" for hit in problems)
        )
