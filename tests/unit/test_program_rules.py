"""A draft of the terms, as pure rules: validation and the preview (no app, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.program import rules
from cabinet.program.errors import TermsInvalid
from cabinet.referrals.rules import HELP_PAGE_TERMS, Grant, Step, period_end

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2023, 11, 1, 9, 0, tzinfo=UTC)


def _values(**changes: str) -> dict[str, str]:
    values = rules.values_of(HELP_PAGE_TERMS, "Новые условия", "2023-12-01T00:00", "")
    values.update(changes)
    return values


def test_the_help_pages_terms_make_a_valid_draft_in_the_cabinets_zone() -> None:
    draft = rules.validate(_values(), NOW, MOSCOW)
    assert draft.terms(7) == replace(HELP_PAGE_TERMS, version=7)
    assert draft.effective_from == datetime(2023, 11, 30, 21, 0, tzinfo=UTC)  # 00:00 Moscow
    assert draft.ends_at is None


def test_a_campaign_has_an_end_after_its_start() -> None:
    draft = rules.validate(_values(ends_at="2024-01-01T00:00"), NOW, MOSCOW)
    assert draft.ends_at == datetime(2023, 12, 31, 21, 0, tzinfo=UTC)
    with pytest.raises(TermsInvalid) as refused:
        rules.validate(_values(ends_at="2023-12-01T00:00"), NOW, MOSCOW)
    assert refused.value.errors == {"ends_at": "Конец акции должен быть позже ее начала."}


def test_empty_rows_at_the_end_are_not_levels_and_a_shorter_ladder_is_fine() -> None:
    values = _values(**{f"level-{n}-{p}": "" for n in (4, 5) for p in ("percent", "months")})
    values["level-5-sms_pack"] = ""
    draft = rules.validate(values, NOW, MOSCOW)
    assert [s.level for s in draft.ladder] == [1, 2, 3]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"title": " "}, "title", "Дайте версии название, например «Декабрьская акция»."),
        ({"effective_from": "завтра"}, "effective_from", "Укажите дату и время начала"),
        ({"effective_from": "2101-01-01T00:00"}, "effective_from", "Начало — не позже 2100 года."),
        ({"ends_at": "9999-12-31T23:59"}, "ends_at", "Конец акции — не позже 2100 года."),
        ({"ends_at": "конец года"}, "ends_at", "Укажите дату и время конца акции"),
        ({"referee_percent": "0"}, "referee_percent", "от 1 до 100"),
        ({"referee_months": "2.5"}, "referee_months", "целое число"),
        ({"max_discount_percent": "101"}, "max_discount_percent", "от 1 до 100"),
        ({"level-1-percent": ""}, "level-1-percent", "Укажите скидку уровня 1."),
        ({"level-3-sms_pack": "3200"}, "level-5-sms_pack", "Пакет из 3200 SMS уже есть"),
        (
            {f"level-1-{p}": "" for p in ("percent", "months", "sms_pack")},
            "level-2-percent",
            "Уровни идут подряд: заполните уровень 1",
        ),
    ],
)
def test_each_bad_field_is_explained(changes: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(TermsInvalid) as refused:
        rules.validate(_values(**changes), NOW, MOSCOW)
    assert message in refused.value.errors[field]


# ---- the preview ---------------------------------------------------------------------------

AT = datetime(2023, 12, 1, 0, 0, tzinfo=UTC)
ladders = st.lists(
    st.builds(
        rules.MemberLadder,
        client_id=st.integers(1, 10_000),
        running=st.one_of(
            st.none(),
            st.builds(
                lambda level, days: Grant(
                    20, AT - timedelta(days=days), AT + timedelta(days=30), "referrer", level, 1
                ),
                st.integers(1, 5),
                st.integers(0, 60),
            ),
        ),
        referred=st.integers(0, 8),
        packs_held=st.just(()),
    ),
    max_size=20,
)


@settings(max_examples=150, deadline=None)
@given(ladders)
def test_a_draft_with_the_same_numbers_changes_nothing(members: list[rules.MemberLadder]) -> None:
    same = replace(HELP_PAGE_TERMS, version=2)
    preview = rules.preview(members, HELP_PAGE_TERMS, same, AT, MOSCOW)
    assert preview.members == len(members)
    assert preview.different == ()
    assert preview.total_change == 0


@settings(max_examples=150, deadline=None)
@given(ladders, st.integers(1, 80))
def test_more_generous_levels_never_lower_the_liability(
    members: list[rules.MemberLadder], extra: int
) -> None:
    richer = replace(
        HELP_PAGE_TERMS,
        version=2,
        ladder=tuple(
            Step(s.level, min(100, s.percent + extra), s.months, s.sms_pack)
            for s in HELP_PAGE_TERMS.ladder
        ),
    )
    preview = rules.preview(members, HELP_PAGE_TERMS, richer, AT, MOSCOW)
    assert preview.referrer_change >= 0 and preview.referee_change == 0
    changed = {
        m.client_id
        for m in members
        if rules.preview([m], HELP_PAGE_TERMS, richer, AT, MOSCOW).different
    }
    assert {d.client_id for d in preview.different} == changed


def test_percent_months_are_clipped_to_the_horizon() -> None:
    grant = Grant(60, AT, period_end(AT, 12, MOSCOW), "referrer", 3, 1)
    assert rules.percent_months(grant, AT, AT + timedelta(days=30)) == 60
    assert rules.percent_months(grant, AT - timedelta(days=90), AT) == 0


@pytest.mark.parametrize("typed", ["9" * 5000, "²", "٣", "1e3", "-5", " 2 0 "])
def test_a_number_field_takes_ascii_digits_only(typed: str) -> None:
    with pytest.raises(TermsInvalid) as refused:
        rules.validate(_values(**{"level-3-sms_pack": typed}), NOW, MOSCOW)
    assert refused.value.errors == {
        "level-3-sms_pack": "Пакет SMS уровня 3 — целое число от 1 до 100000."
    }
