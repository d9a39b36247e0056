"""Russian as the cabinet writes it, one place: words that depend on a number, numbers and
percents for ru-RU (Babel, CLDR), and non-breaking spaces.

Spelling: the cabinet writes «е» for «ё» everywhere, as the operator's help page does
(«приведенных», «начнет», «своем»); see docs/typography.md.
"""

from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import format_decimal, format_percent

LOCALE = "ru_RU"
NBSP = "\u00a0"
WORD_JOINER = "\u2060"  # no line break on either side of it, and nothing shown


_RU = Locale.parse(LOCALE)


def plural(n: int | float | Decimal, one: str, few: str, many: str) -> str:
    """`plural(3, "месяц", "месяца", "месяцев")` → "месяца": the form CLDR's plural rules for
    Russian give the count (Babel), never endings worked out here. CLDR's fourth form, «other»
    (fractions: «1,5 месяца»), reads like «few»."""
    count = Decimal(str(n)).copy_abs()
    form = _RU.plural_form(count)
    if form == "one":
        return one
    if form == "many":
        return many
    return few


def invited_word(n: int) -> str:
    """The word under the count: «3 приглашенных», «21 приглашенный»; none: «…пока нет»."""
    if n == 0:
        return "приглашенных пока нет"
    return plural(n, "приглашенный", "приглашенных", "приглашенных")


def months(n: int) -> str:
    return f"{n} {plural(n, 'месяц', 'месяца', 'месяцев')}"


_MONTHS_FOR = {
    1: "месяц",
    2: "два месяца",
    3: "три месяца",
    4: "четыре месяца",
    6: "шесть месяцев",
    12: "двенадцать месяцев",
}
_MONTHS_WITHIN = {
    1: "месяца",
    2: "двух месяцев",
    3: "трех месяцев",
    4: "четырех месяцев",
    6: "шести месяцев",
    12: "двенадцати месяцев",
}


def months_for(n: int) -> str:
    """How long, in words (accusative): «на три месяца», «на месяц»."""
    return _MONTHS_FOR.get(n, months(n))


def months_within(n: int) -> str:
    """Within how long, in words (genitive): «в течение месяца», «в течение трех месяцев»."""
    return _MONTHS_WITHIN.get(n, f"{n} {plural(n, 'месяца', 'месяцев', 'месяцев')}")


# ---- numbers -------------------------------------------------------------------------------


# A page shows the same few numbers and percents again and again; CLDR formatting is not cheap.
@lru_cache(maxsize=4096)
def number(value: int | float | Decimal, digits: int = 0) -> str:
    """`1200` → «1 200», `844.8` → «844,8» (ru-RU grouping with a non-breaking space)."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=LOCALE)


@lru_cache(maxsize=4096)
def percent(value: int | float | Decimal, digits: int = 0) -> str:
    """Whole percents in, ru-RU out: `20` → «20 %», `12.5, digits=1` → «12,5 %»."""
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + " %"
    return format_percent(Decimal(str(value)) / 100, format=pattern, locale=LOCALE).replace(
        " ", NBSP
    )


def roubles(kopecks: int) -> str:
    """Integer kopecks as a Russian reads money: `123456789` → «1 234 567,89 ₽»."""
    return number(Decimal(kopecks) / 100, 2) + NBSP + "₽"


# ---- non-breaking spaces -------------------------------------------------------------------

# A short word (a preposition, a conjunction, a particle: «в», «с», «на», «до», «не») stays with
# the word after it; a number stays with its unit or noun («1200 SMS», «3 месяца», «20 %»);
# a dash stays with the word before it. A date's year is not a number with a noun: «до
# 19.12.2026 включительно» may break after the date (bound to «включительно», the whole «до
# 19.12.2026 включительно:» left «Акция» alone on its line on a phone); a date stays with its
# time («30.03.2023 15:47»). A range of short tokens stays whole («0–9», «a–f», «2–3»): a browser
# may break after an en dash, and «цифр 0–» / «9» split the apply error on a phone.
_SHORT_WORD = re.compile(r"(?<![\w\-])([А-Яа-яЁёA-Za-z]{1,2}|(?<!\.)\d+[%‰]?|№|§) (?=\S|$)")
_DATE_TIME = re.compile(r"(\d\d\.\d\d\.\d{4}) (?=\d\d?:\d\d)")
_DASH = re.compile(r" (—|–)")
_RANGE = re.compile(r"(?<!\w)(\w{1,4})–(?=\w{1,4}(?!\w))")
_TAG = re.compile(r"(<[^>]*>)")
# Elements whose contents are typed text or code, never typeset.
_RAW_ELEMENTS = ("textarea", "script", "style", "pre")
_RAW = re.compile(rf"<({'|'.join(_RAW_ELEMENTS)})\b", re.IGNORECASE)


def nbsp(text: str) -> str:
    """`text` with non-breaking spaces where Russian typography needs them; idempotent."""
    text = _SHORT_WORD.sub(lambda m: m.group(1) + NBSP, text)
    text = _SHORT_WORD.sub(lambda m: m.group(1) + NBSP, text)  # «и в …»: overlapping pairs
    text = _DATE_TIME.sub(r"\1" + NBSP, text)
    if "–" in text:
        text = _RANGE.sub(r"\1–" + WORD_JOINER, text)
    return _DASH.sub(NBSP + r"\1", text)


# The texts between tags of a page are mostly the templates' own, the same on every request,
# and a page's blocks are typeset again by the block around them: each text is worked out once.
# Long texts (a client's own words, rarely repeated) are not kept: the cache stays small.
_nbsp_cached = lru_cache(maxsize=8192)(nbsp)
_CACHED_UP_TO = 512


def nbsp_html(html: str) -> str:
    """`nbsp` applied to the text between tags of an HTML fragment (attributes untouched;
    the contents of textarea, script, style and pre untouched)."""
    opened = _RAW.search(html)
    if opened is None:
        return _typeset_between_tags(html)
    # A page's head has its scripts: the texts around them are typeset a stretch at a time, in
    # one pass each, rather than walked one by one (the full page: 121 µs against 138).
    done: list[str] = []
    start = 0
    while opened is not None:
        at = opened.start()
        end_of_tag = html.find(">", at) + 1
        if not end_of_tag or not _starts_tag(html, at):  # text, or inside another tag
            opened = _RAW.search(html, opened.end())
            continue
        closing = _closing_tag(html, opened.group(1).lower(), end_of_tag)
        done.append(_typeset_between_tags(html[start:at]))
        done.append(html[at:closing])
        start = closing
        opened = _RAW.search(html, closing)
    done.append(_typeset_between_tags(html[start:]))
    return "".join(done)


def _typeset_between_tags(html: str) -> str:
    parts = _TAG.split(html)
    # split() puts the tags at the odd places: text, tag, text, tag, …, text
    parts[0::2] = [
        _nbsp_cached(text) if len(text) <= _CACHED_UP_TO else nbsp(text) for text in parts[0::2]
    ]
    return "".join(parts)


def _starts_tag(html: str, at: int) -> bool:
    """Whether the `<` at `at` opens a tag as `_TAG` splits `html`: a `<` opens the tag that
    runs to the first `>` after it, so a `<` before `at` with no `>` since holds `at` inside."""
    return html.rfind("<", 0, at) <= html.rfind(">", 0, at)


_RAW_CLOSING = {name: re.compile("</" + name, re.IGNORECASE) for name in _RAW_ELEMENTS}


def _closing_tag(html: str, name: str, after: int) -> int:
    """Where the tag that closes the raw element `name` opened before `after` starts (the end
    of `html` if none does): the first tag from there that begins with `</name`."""
    closing = _RAW_CLOSING[name]
    found = closing.search(html, after)
    while found is not None:
        at = found.start()
        if html.find(">", at) < 0:
            break
        if _starts_tag(html, at):
            return at
        found = closing.search(html, found.end())
    return len(html)
