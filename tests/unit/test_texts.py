"""Russian as the cabinet writes it: ru-RU numbers (Babel), non-breaking spaces, one spelling
of «е», and no rule number typed into a template or a view."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.referrals import rules
from cabinet.referrals.terms import words
from cabinet.texts import (
    NBSP,
    WORD_JOINER,
    months_for,
    months_within,
    nbsp,
    nbsp_html,
    number,
    percent,
    plural,
)

ROOT = Path(__file__).resolve().parents[2]


def test_numbers_and_percents_for_ru_ru() -> None:
    assert percent(20) == f"20{NBSP}%"
    assert percent(12.5, 1) == f"12,5{NBSP}%"  # a decimal comma, never «12.5%»
    assert number(844.8, 1) == "844,8"
    assert number(1200) == f"1{NBSP}200"


def test_terms_come_from_the_rules() -> None:
    v1 = rules.HELP_PAGE_TERMS
    terms = words(v1)
    assert terms.referee_percent == percent(v1.referee_percent)
    assert terms.referee_for == months_for(v1.referee_months) == "три месяца"
    assert terms.apply_within == months_within(v1.apply_window_months) == "месяца"
    assert terms.max_percent == percent(v1.max_discount_percent)
    assert [clients for clients, _ in terms.sms_packs] == [s.level for s in v1.ladder if s.sms_pack]


@pytest.mark.parametrize(
    ("text", "bound"),
    [
        ("скидка распространяется на все услуги", f"на{NBSP}все"),
        ("приведя трех клиентов, и пакет 3200 SMS", f"3200{NBSP}SMS"),
        ("Войдите в личный кабинет", f"в{NBSP}личный"),
        ("оплата — с кодом", f"оплата{NBSP}— с{NBSP}кодом"),
        ("и в течение месяца", f"и{NBSP}в{NBSP}течение"),
    ],
)
def test_short_words_numbers_and_dashes_hold_on(text: str, bound: str) -> None:
    assert bound in nbsp(text)


def test_a_dates_year_lets_the_line_break_and_a_date_keeps_its_time() -> None:
    campaign = nbsp("Акция до 19.12.2026 включительно: за первого клиента 30 %")
    assert f"до{NBSP}19.12.2026 включительно: за{NBSP}первого" in campaign
    assert nbsp("применен 30.03.2023 15:47") == f"применен 30.03.2023{NBSP}15:47"
    assert nbsp("с 1 января 2026 года") == f"с{NBSP}1{NBSP}января 2026{NBSP}года"


def test_a_range_of_short_tokens_stays_whole() -> None:
    said = nbsp("Код состоит из 9 символов: цифр 0–9 и латинских букв a–f.")
    assert f"цифр 0–{WORD_JOINER}9{NBSP}и{NBSP}латинских букв a–{WORD_JOINER}f." in said
    assert nbsp("за 2–3 месяца") == f"за{NBSP}2–{WORD_JOINER}3{NBSP}месяца"
    # Words joined by a dash are not a range: they may break as before.
    assert nbsp("Москва–Петербург") == "Москва–Петербург"


@given(st.text(alphabet="ав сиSMS12—–<>b/=\"'", max_size=60))
def test_nbsp_is_idempotent_and_keeps_the_markup(text: str) -> None:
    once = nbsp_html(text)
    assert nbsp_html(once) == once
    assert once.replace(NBSP, " ").replace(WORD_JOINER, "") == text


def _by_pieces(html: str) -> str:
    """The definition, plainly: every text between tags, one by one, outside raw elements."""
    parts = re.split(r"(<[^>]*>)", html)
    raw_until: str | None = None
    for i in range(0, len(parts), 2):
        if raw_until is None:
            parts[i] = nbsp(parts[i])
        if i + 1 < len(parts):
            tag = parts[i + 1]
            opened = re.match(r"<(textarea|script|style|pre)\b", tag, re.IGNORECASE)
            if raw_until is None and opened:
                raw_until = "</" + opened.group(1).lower()
            elif raw_until is not None and tag.lower().startswith(raw_until):
                raw_until = None
    return "".join(parts)


_PIECES = st.sampled_from(
    ["<p>", "</p>", "<td class=\"x y\">", "<pre>", "</pre>", "<script>", "</script>",
     "<textarea name=\"a b\">", "</textarea>", "\n  ", " ", "в дом", "и в", "до 5 %",
     "3200 SMS", "оплата — с кодом", "слово", "Клиент 12",
     # raw elements written otherwise, and angle brackets that open no tag or sit inside one
     "<SCRIPT src=\"a\" defer>", "</Script >", "</scripts>", "<pre", "</pre", "<", ">", "a < b",
     "<a title=\"<pre>\">", "<style>", "</STYLE>"]
)  # fmt: skip


@settings(max_examples=1000)
@given(st.lists(_PIECES, max_size=30))
def test_nbsp_html_does_what_the_definition_says(pieces: list[str]) -> None:
    html = "".join(pieces)
    assert nbsp_html(html) == _by_pieces(html)


def test_nbsp_leaves_attributes_and_typed_text_alone() -> None:
    html = '<a title="в дом">в дом</a><textarea>в дом</textarea>'
    assert nbsp_html(html) == f'<a title="в дом">в{NBSP}дом</a><textarea>в дом</textarea>'
    script = "<p>и в дом</p><script>let a = 'в дом';</script><pre>и в</pre><p>до 5 %</p>"
    assert nbsp_html(script) == (
        f"<p>и{NBSP}в{NBSP}дом</p><script>let a = 'в дом';</script><pre>и в</pre>"
        f"<p>до{NBSP}5{NBSP}%</p>"
    )


def test_long_and_short_texts_are_typeset_alike() -> None:
    """Texts past the cached length are worked out each time, with the same rules."""
    short = "скидка в 20 % — до конца месяца"
    long = " ".join([short] * 40)
    assert len(short) < 512 < len(long)
    for text in (short, long, short):
        typeset = nbsp_html(f"<p>{text}</p>")
        assert typeset == f"<p>{nbsp(text)}</p>"
        assert f"в{NBSP}20{NBSP}%{NBSP}—" in typeset


def _product_files() -> list[Path]:
    return sorted(ROOT.glob("templates/**/*.*")) + sorted(ROOT.glob("cabinet/**/*.py"))


def test_one_spelling_of_e_everywhere() -> None:
    """docs/typography.md: «е», never «ё», as on the operator's help page."""
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in _product_files()
        if path.name != "texts.py"  # it names the letter to describe the rule
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "ё" in line or "Ё" in line
    ]
    assert not found


# A rule's number or phrase typed by hand: a percent, the referee's three months, an SMS pack.
TYPED_RULE = re.compile(r"\b\d+\s?%|три месяца|\b(1200|3200)\b|в течение месяца")


def test_no_rule_number_typed_into_a_template_or_a_view() -> None:
    places = (
        sorted(ROOT.glob("templates/**/*.*"))
        + sorted(ROOT.glob("cabinet/web/*.py"))
        + sorted(ROOT.glob("cabinet/manage/views.py"))
        + [ROOT / "cabinet/api/openapi.py", ROOT / "cabinet/api/schemas.py"]
        + [ROOT / "cabinet/invitations/messages.py"]
    )
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in places
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if TYPED_RULE.search(re.sub(r"%[dHMYmS]|\{%|%\}", "", line))
    ]
    assert not found


# ---- plural forms: CLDR's rules for Russian (Babel), not endings typed by hand -------------


@given(st.integers(min_value=0, max_value=10**6))
def test_plural_follows_cldr_for_every_count(n: int) -> None:
    from babel import Locale

    form = Locale("ru").plural_form(n)
    expected = {"one": "месяц", "few": "месяца", "many": "месяцев"}[form]
    assert plural(n, "месяц", "месяца", "месяцев") == expected


@pytest.mark.parametrize(
    ("n", "said"),
    [(1.5, "1,5 месяца"), (Decimal("0.5"), "0,5 месяца"), (21, "21 месяц"), (11, "11 месяцев")],
)
def test_a_fraction_takes_the_form_cldr_gives_it(n: float | Decimal, said: str) -> None:
    # CLDR's «other» (fractions) reads like «few» in Russian: «1,5 месяца», never «1,5 месяцев»
    shown = number(n, 1) if n % 1 else number(n)
    assert f"{shown} {plural(n, 'месяц', 'месяца', 'месяцев')}" == said


@pytest.mark.parametrize(
    ("n", "within", "for_"),
    [
        (1, "месяца", "месяц"),
        (2, "двух месяцев", "два месяца"),
        (5, "5 месяцев", "5 месяцев"),
        (21, "21 месяца", "21 месяц"),
        (22, "22 месяцев", "22 месяца"),
    ],
)
def test_months_within_and_for_agree_with_the_count(n: int, within: str, for_: str) -> None:
    assert months_within(n) == within  # «в течение месяца», never «в течение 1 месяц»
    assert months_for(n) == for_


def test_the_limit_wait_uses_the_same_plural() -> None:
    from cabinet.limits import wait_text

    assert wait_text(56 * 60) == "через 56 минут"
    assert wait_text(21 * 60) == "через 21 минуту"
    assert wait_text(1) == "через 1 секунду"


def test_no_customer_template_formats_a_number_itself() -> None:
    """The client's pages take their sentences and numbers from the copy deck
    (cabinet/referrals/terms.py, cabinet/referral_page/way_forward.py), written: no filter
    formats one."""
    places = [
        *ROOT.glob("templates/referrals/*.html"),
        *ROOT.glob("templates/partials/*.html"),
        *ROOT.glob("templates/invitations/*.html"),
        *ROOT.glob("templates/auth/*.html"),
        ROOT / "templates/base.html",
    ]
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in sorted(places)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\|\s*(percent|number|round|format)\b", line)
    ]
    assert not found
