"""The demo's stories name no number of their own: every place in their texts is one of their
roles or a number `cabinet/demo/words.py` fills from any valid version of the terms."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from cabinet.demo.stories import STORIES
from cabinet.demo.words import CAMPAIGN_PLACES, RULE_PLACES, rule_words
from cabinet.program.rules import MAX_LEVELS, MAX_SMS_PACK
from cabinet.referrals.rules import HELP_PAGE_TERMS, Step, TermsNumbers
from cabinet.texts import NBSP


def _places(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_place_of_every_story_is_filled() -> None:
    for story in STORIES:
        texts = [story.title, story.summary]
        texts += [text for step in story.steps for text in (step.label, step.look)]
        roles = {role.key for role in story.roles}
        known = RULE_PLACES | roles | (CAMPAIGN_PLACES if story.key == "season" else set())
        for text in texts:
            assert _places(text) <= known, (story.key, text, _places(text) - known)


@st.composite
def terms(draw: st.DrawFn) -> TermsNumbers:
    levels = draw(st.integers(1, MAX_LEVELS))
    percents = sorted(draw(st.lists(st.integers(1, 100), min_size=levels, max_size=levels)))
    sizes = draw(st.lists(st.integers(1, MAX_SMS_PACK), max_size=levels, unique=True))
    where = draw(st.permutations(range(levels)))[: len(sizes)]
    packs = dict(zip(where, sizes, strict=True))
    ladder = tuple(
        Step(i + 1, p, draw(st.integers(1, 120)), packs.get(i)) for i, p in enumerate(percents)
    )
    return TermsNumbers(
        2,
        draw(st.integers(1, 100)),
        draw(st.integers(1, 120)),
        ladder,
        draw(st.integers(1, 120)),
        draw(st.integers(1, 100)),
    )


@given(terms())
def test_any_valid_terms_fill_every_place_in_words(generated: TermsNumbers) -> None:
    words = rule_words(generated)
    assert set(words) == RULE_PLACES
    for k in range(1, MAX_LEVELS + 1):
        level = min(k, len(generated.ladder))
        shown = min(generated.ladder[level - 1].percent, generated.max_discount_percent)
        assert words[f"p{k}"] == f"{shown}{NBSP}%"
    for value in words.values():
        assert "None" not in value and "{" not in value


def test_packs_on_other_levels_are_named_where_they_come() -> None:
    seven = TermsNumbers(
        2,
        20,
        3,
        tuple(
            Step(level, 10 * (level + 1), 3, {3: 500, 5: 1200, 7: 3200}.get(level))
            for level in range(1, 8)
        ),
        1,
        100,
    )
    words = rule_words(seven)
    assert words["sms_and3"] == " и пакет из 500 SMS"
    assert words["sms_and4"] == ""
    assert words["sms_upto3"] == " и пакет из 500 SMS"
    assert words["ladder_packs"] == f", пакеты 500 SMS и 1{NBSP}200 SMS"
    assert words["ladder_packs_held"] == ", 2 пакета SMS"
    one = TermsNumbers(2, 20, 3, (Step(1, 20, 3, None), Step(2, 40, 3, 700)), 1, 100)
    assert rule_words(one)["ladder_packs"] == ", пакет 700 SMS"
    assert rule_words(one)["ladder_packs_title"] == " и пакет SMS"
    help_page = rule_words(HELP_PAGE_TERMS)
    assert help_page["window_within"] == "месяца"  # «в течение месяца», not «1 месяц»
