"""The copy deck for the client's page (cabinet/referrals/terms.py): a campaign's headline, the
ladder's rows and lead sentence, a campaign row's note, a new member's welcome — each from the
terms given, with nothing of the help page's numbers built in."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from cabinet.referrals import rules
from cabinet.referrals import terms as deck
from cabinet.referrals.rules import HELP_PAGE_TERMS, Step
from cabinet.texts import NBSP

MOSCOW = ZoneInfo("Europe/Moscow")
V1 = HELP_PAGE_TERMS


def _plain(text: str) -> str:
    return text.replace(NBSP, " ")


def _campaign(**changes: object) -> rules.Version:
    terms = dataclasses.replace(V1, version=2, **changes)  # type: ignore[arg-type]
    return rules.Version(
        terms,
        datetime(2026, 12, 4, 21, 0, tzinfo=UTC),
        datetime(2026, 12, 19, 21, 0, tzinfo=UTC),  # 20.12.2026 00:00 in Moscow
        "Акция",
    )


def test_a_campaign_that_raises_level_one_says_so_and_until_when() -> None:
    ladder = (dataclasses.replace(V1.ladder[0], percent=30), *V1.ladder[1:])
    headline = deck.campaign_headline(_campaign(ladder=ladder), V1, MOSCOW)
    assert _plain(headline) == (
        "Акция до 19.12.2026 включительно: за первого клиента 30 % (обычно 20 %)."
    )


def test_longer_levels_a_new_level_and_the_referee_are_named() -> None:
    ladder = (
        dataclasses.replace(V1.ladder[0], months=6),
        *V1.ladder[1:],
        Step(6, 100, 24, None),
    )
    version = _campaign(ladder=ladder, referee_percent=30, referee_months=2)
    assert _plain(deck.campaign_headline(version, V1, MOSCOW)) == (
        "Акция до 19.12.2026 включительно: за первого клиента 20 % на 6 месяцев (обычно 20 % на "
        "3 месяца), на уровне 6 — 100 % (новый уровень), новому клиенту по коду — 30 % на 2 "
        "месяца (обычно 20 % на 3 месяца)."
    )
    rows = [deck.step_words(step, V1) for step in ladder]
    assert _plain(rows[0].regular) == "обычно 20 % на 3 месяца"
    assert rows[1].regular == ""
    assert rows[5].regular == "только по условиям акции"


def test_a_campaign_ending_at_another_moment_is_said_to_the_minute() -> None:
    assert deck.campaign_until(datetime(2026, 12, 19, 12, 30, tzinfo=UTC), MOSCOW) == (
        "19.12.2026 15:30"
    )
    assert _plain(deck.campaign_note(datetime(2026, 12, 19, 21, 0, tzinfo=UTC), MOSCOW)) == (
        "по условиям акции до 19.12.2026 включительно"
    )
    assert deck.campaign_note(None, MOSCOW) == ""


def test_the_ladders_lead_sentence_is_true_for_any_ladder() -> None:
    assert _plain(deck.ladder_intro(V1)).startswith(
        "Вы получаете скидку 20 % за каждого нового клиента"
    )
    uneven = dataclasses.replace(V1, ladder=(Step(1, 30, 3, None), *V1.ladder[1:]))
    lead = _plain(deck.ladder_intro(uneven))
    assert "за каждого нового клиента" not in lead
    assert lead.startswith("За первого нового клиента, который зарегистрирует ваш код, вы")
    assert "30 %" in lead


def test_a_new_members_welcome_reads_the_terms_in_force() -> None:
    one_level = dataclasses.replace(V1, ladder=(Step(1, 15, 2, None),), max_discount_percent=15)
    lines = [_plain(line) for line in deck.welcome_lines(one_level)]
    assert lines[0] == (
        "Пригласите друга: когда он применит ваш код, вы получите скидку 15 % на 2 месяца."
    )
    assert len(lines) == 2  # one level: nothing to climb
    lines = [_plain(line) for line in deck.welcome_lines(V1)]
    assert lines[1].endswith("— до 100 %.")
