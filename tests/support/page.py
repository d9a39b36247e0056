"""A page read as a person (or a screen reader) reads it: the text of an element, the name of a
field, the buttons and links, a table's row — so a test asserts what the page says, not how its
markup is spelled (a class renamed, an attribute reordered, a tag swapped for an equivalent one
leaves such a test as it was)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
    "track", "wbr",
}  # fmt: skip
_SPACES = re.compile(r"[ \t\n\r\f]+")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text inside, white space folded as a browser shows it (non-breaking spaces kept)."""
        return _SPACES.sub(" ", "".join(self._texts())).strip()

    def _texts(self) -> list[str]:
        out: list[str] = []
        for child in self.children:
            out.extend([child] if isinstance(child, str) else child._texts())
        return out

    def all(self, tag: str | None = None, **attrs: str | bool) -> list[Element]:
        """Every element below, in document order, with this tag and these attributes
        (`class_` for class, one of its names; `True`: present with any value)."""
        found = []
        for child in self.children:
            if isinstance(child, Element):
                if child.matches(tag, attrs):
                    found.append(child)
                found.extend(child.all(tag, **attrs))
        return found

    def one(self, tag: str | None = None, **attrs: str | bool) -> Element:
        """The one element below with this tag and attributes: none or several fail the test."""
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} elements <{tag or '*'} {attrs}>"
        return found[0]

    def matches(self, tag: str | None, attrs: dict[str, str | bool]) -> bool:
        if tag is not None and self.tag != tag:
            return False
        for name, wanted in attrs.items():
            name = name.rstrip("_").replace("_", "-")
            value = self.attrs.get(name)
            if wanted is True:
                if value is None:
                    return False
            elif name == "class":
                if wanted not in (value or "").split():
                    return False
            elif value != wanted:
                return False
        return True

    def by_id(self, element_id: str) -> Element:
        return self.one(id=element_id)

    def label_of(self, field_id: str) -> str:
        """The text of the `<label for=…>` of a field: its name for a screen reader."""
        return self.one("label", for_=field_id).text

    def buttons(self) -> list[str]:
        """The names of the buttons, in order (a `<button>`'s text, a submit input's value)."""
        named = [e for e in self.all() if e.tag == "button" or e.attrs.get("type") == "submit"]
        return [e.text if e.tag == "button" else e.attrs.get("value", "") for e in named]

    def links(self) -> list[tuple[str, str]]:
        """(text, href) of each link, in order."""
        return [(a.text, a.attrs.get("href", "")) for a in self.all("a", href=True)]

    def row(self, containing: str) -> list[str]:
        """The cells' texts of the one table row whose text contains `containing`."""
        rows = [tr for tr in self.all("tr") if containing in tr.text]
        assert len(rows) == 1, f"{len(rows)} rows with «{containing}»"
        return [cell.text for cell in rows[0].children if isinstance(cell, Element)]

    def column(self, heading: str) -> list[str]:
        """The cells' texts under the column headed `heading`, row by row (the one table with
        such a column)."""
        tables = [t for t in self.all("table") if heading in [th.text for th in t.all("th")]]
        assert len(tables) == 1, f"{len(tables)} tables with a column «{heading}»"
        headings = [th.text for th in tables[0].all("tr")[0].all("th")]
        index = headings.index(heading)
        rows = [tr for tr in tables[0].all("tr") if tr.all("td")]
        return [[c for c in tr.children if isinstance(c, Element)][index].text for tr in rows]

    def first(self) -> Element:
        """The first element of the document: what a fragment is."""
        return next(child for child in self.children if isinstance(child, Element))


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.open = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.open[-1].children.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.open) - 1, 0, -1):
            if self.open[depth].tag == tag:
                del self.open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.open[-1].children.append(data)


def page(html: str) -> Element:
    """The document (or fragment) as a tree of elements."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    return builder.root
