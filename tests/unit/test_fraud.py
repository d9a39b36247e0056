"""Fraud signals as pure rules (cabinet/fraud/rules.py): flags for review, never a block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cabinet.fraud import rules as fraud
from cabinet.fraud.rules import Activation, Contact

MOSCOW = ZoneInfo("Europe/Moscow")
AT = datetime(2023, 3, 31, 7, 3, tzinfo=UTC)  # 31.03.2023 10:03 in Moscow


def contact(client_id: int, email: str | None = None, phone: str | None = None) -> Contact:
    return Contact(client_id, f"Клиент {client_id}", email, phone)


def activation(
    referee: Contact, referrer: Contact | None = None, at: datetime = AT, referral_id: int = 1
) -> Activation:
    return Activation(referral_id, referrer or contact(1), referee, at)


def kinds(referrer: Contact, referee: Contact) -> list[str]:
    return [s.kind for s in fraud.pair_signals(activation(referee, referrer), MOSCOW)]


@pytest.mark.parametrize(
    ("email", "box"),
    [
        ("Ivan@Example.RU", "ivan@example.ru"),
        ("ivan+promo@example.ru", "ivan@example.ru"),
        ("i.van.petrov+2@gmail.com", "ivanpetrov@gmail.com"),
        ("ivanpetrov@googlemail.com", "ivanpetrov@gmail.com"),
        ("i.van@mail.ru", "i.van@mail.ru"),  # dots matter outside Gmail
        ("+tag@example.ru", None),
        ("no-at-sign", None),
        (None, None),
    ],
)
def test_mailbox(email: str | None, box: str | None) -> None:
    assert fraud.mailbox(email) == box


@pytest.mark.parametrize(
    ("phone", "key"),
    [
        ("+7 (910) 123-45-67", "9101234567"),
        ("8 910 123 45 67", "9101234567"),
        ("9101234567", "9101234567"),
        ("12-34", None),
        ("", None),
        (None, None),
    ],
)
def test_phone_key(phone: str | None, key: str | None) -> None:
    assert fraud.phone_key(phone) == key


def test_a_shared_company_domain_is_a_signal() -> None:
    signals = fraud.pair_signals(
        activation(contact(407, "buh@techstroy.ru"), contact(1, "boss@TechStroy.ru")), MOSCOW
    )
    assert [s.kind for s in signals] == ["shared_domain"]
    signal = signals[0]
    assert (signal.referrer_id, signal.referee_ids, signal.referral_ids) == (1, (407,), (1,))
    assert signal.text == (
        "Клиент 407 «Клиент 407» применил код клиента 1 «Клиент 1» 31.03.2023 10:03: "
        "общий почтовый домен techstroy.ru (не публичный почтовый сервис)."
    )


@pytest.mark.parametrize("domain", sorted(fraud.PUBLIC_MAIL_DOMAINS))
def test_a_public_mail_service_is_not_a_signal(domain: str) -> None:
    assert kinds(contact(1, f"anna@{domain}"), contact(2, f"boris@{domain}")) == []


def test_the_public_list_has_the_usual_russian_and_global_services() -> None:
    for domain in ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru"):
        assert fraud.is_public_domain(domain)
    for domain in ("ya.ru", "rambler.ru", "outlook.com", "hotmail.com", "icloud.com"):
        assert fraud.is_public_domain(domain)
    assert not fraud.is_public_domain("techstroy.ru")


def test_the_same_mailbox_is_one_signal_even_at_a_company_domain() -> None:
    assert kinds(contact(1, "ivan@techstroy.ru"), contact(2, "ivan+2@techstroy.ru")) == [
        "same_mailbox"
    ]
    assert kinds(contact(1, "ivan.petrov@gmail.com"), contact(2, "ivanpetrov+b@gmail.com")) == [
        "same_mailbox"
    ]
    text = fraud.pair_signals(
        activation(contact(2, "ivan+2@techstroy.ru"), contact(1, "ivan@techstroy.ru")), MOSCOW
    )[0].text
    assert "сброса пароля" in text


def test_a_shared_phone_is_a_signal() -> None:
    assert kinds(contact(1, phone="+7 910 123-45-67"), contact(2, phone="89101234567")) == [
        "shared_phone"
    ]
    assert kinds(contact(1, phone="+7 910 123-45-67"), contact(2, phone="+7 910 123-45-68")) == []
    assert kinds(contact(1, phone="112"), contact(2, phone="112")) == []


def test_domain_and_phone_together_are_two_signals() -> None:
    assert kinds(
        contact(1, "a@techstroy.ru", "+79101234567"), contact(2, "b@techstroy.ru", "89101234567")
    ) == ["shared_domain", "shared_phone"]


def test_nothing_in_common_is_no_signal() -> None:
    assert kinds(contact(1, "a@one.ru", "+79101234567"), contact(2, "b@two.ru", None)) == []
    assert kinds(contact(1), contact(2)) == []


# ---- bursts --------------------------------------------------------------------------------


def _burst_input(minutes: list[int], referrer: int = 1) -> list[Activation]:
    return [
        Activation(
            referrer * 1000 + n,
            contact(referrer),
            contact(referrer * 1000 + n),
            AT + timedelta(minutes=m),
        )
        for n, m in enumerate(minutes)
    ]


def test_three_referrals_within_an_hour_are_a_burst() -> None:
    [signal] = fraud.bursts(_burst_input([0, 20, 60]), MOSCOW)
    assert signal.kind == "burst"
    assert signal.referee_ids == (1000, 1001, 1002)
    assert signal.at == AT + timedelta(minutes=60)
    assert signal.text == (
        "Всплеск: 3 клиента применили код клиента 1 «Клиент 1» "
        "с 31.03.2023 10:03 по 31.03.2023 11:03 (порог — 3 за 1 час)."
    )


def test_fewer_or_slower_referrals_are_no_burst() -> None:
    assert fraud.bursts(_burst_input([0, 20]), MOSCOW) == []
    assert fraud.bursts(_burst_input([0, 30, 61]), MOSCOW) == []
    # the help page's example: 10:03, 10:30, 15:18
    assert fraud.bursts(_burst_input([0, 27, 315]), MOSCOW) == []


def test_overlapping_windows_make_one_burst_and_separate_ones_two() -> None:
    [one] = fraud.bursts(_burst_input([0, 25, 50, 75, 100]), MOSCOW)
    assert len(one.referral_ids) == 5
    two = fraud.bursts(_burst_input([0, 1, 2, 500, 501, 502]), MOSCOW)
    assert [len(s.referral_ids) for s in two] == [3, 3]


def test_referrals_to_different_referrers_do_not_add_up() -> None:
    mixed = _burst_input([0, 10], referrer=1) + _burst_input([5], referrer=2)
    assert fraud.bursts(mixed, MOSCOW) == []


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 600), max_size=12))
def test_bursts_cover_exactly_the_referrals_in_some_busy_hour(minutes: list[int]) -> None:
    items = _burst_input(sorted(minutes))
    flagged = {rid for s in fraud.bursts(items, MOSCOW) for rid in s.referral_ids}
    busy = set()
    for first in items:
        window = [a for a in items if first.at <= a.at <= first.at + fraud.BURST_WINDOW]
        if len(window) >= fraud.BURST_COUNT:
            busy |= {a.referral_id for a in window}
    assert flagged == busy
    signals = fraud.bursts(items, MOSCOW)
    ids = [rid for s in signals for rid in s.referral_ids]
    assert len(ids) == len(set(ids))  # one signal per burst, no referral in two


def test_review_puts_the_newest_first() -> None:
    older = activation(contact(2, "b@co.ru"), contact(1, "a@co.ru"), AT, 1)
    newer = activation(contact(3, "c@co.ru"), contact(1, "a@co.ru"), AT + timedelta(days=1), 2)
    assert [s.referral_ids for s in fraud.review([older, newer], MOSCOW)] == [(2,), (1,)]
