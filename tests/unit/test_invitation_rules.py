"""Invitation rules and texts, pure."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabinet.invitations import errors, messages, rules
from cabinet.invitations.rules import Backoff, Limits, Usage
from cabinet.referrals.rules import HELP_PAGE_TERMS
from cabinet.referrals.terms import words
from tests.conftest import MOSCOW, msk

TERMS = words(HELP_PAGE_TERMS)  # version 1: the help page's terms

LIMITS = Limits(daily_cap=3, recipient_cooldown_days=7, sms_daily_budget=5)
NOW = msk("2023-03-31 12:00")
CLEAN = Usage(member_today=0, last_to_recipient=None, sms_today=0, opted_out=False)


@pytest.mark.parametrize(
    "typed", ["+7 910 123-45-67", "89101234567", "+7(910)1234567", " 8 910 123 45 67 "]
)
def test_russian_mobile_numbers_are_stored_as_e164(typed: str) -> None:
    assert rules.normalise_phone(typed, ("RU",)) == "+79101234567"
    assert rules.show_phone("+79101234567") == "+7 910 123-45-67"


@pytest.mark.parametrize(
    ("typed", "refusal"),
    [
        ("", errors.PhoneInvalid),
        ("12345", errors.PhoneInvalid),
        ("+7 910 123", errors.PhoneInvalid),
        ("+7 495 123-45-67", errors.PhoneNotMobile),  # a Moscow landline
        ("+44 7400 123456", errors.PhoneCountryNotAllowed),
        ("+7 910 123-45-67\n+7 911 000-00-00", errors.PhoneInvalid),
        ("+7 910\x00 123-45-67", errors.PhoneInvalid),
        ("9" * 10_000, errors.PhoneInvalid),
    ],
)
def test_bad_numbers_are_refused(typed: str, refusal: type[Exception]) -> None:
    with pytest.raises(refusal):
        rules.normalise_phone(typed, ("RU",))


def test_allowed_countries_are_configurable() -> None:
    assert rules.normalise_phone("+44 7400 123456", ("RU", "GB")) == "+447400123456"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "friend",
        "friend@",
        "friend@example.ru\r\nBcc: all@example.ru",
        "friend@example.ru\nSubject: spam",
        "fri\x07end@example.ru",
        "a" * 10_000 + "@example.ru",
        "<friend@example.ru>",
    ],
)
def test_bad_addresses_are_refused(typed: str) -> None:
    with pytest.raises(errors.EmailInvalid):
        rules.normalise_email(typed)


def test_addresses_are_normalised() -> None:
    assert rules.normalise_email("  Friend@Example.RU ") == "friend@example.ru"


def test_limits_in_order() -> None:
    rules.check_invitation("sms", True, CLEAN, NOW, LIMITS)
    with pytest.raises(errors.ConsentMissing):
        rules.check_invitation("sms", False, CLEAN, NOW, LIMITS)
    with pytest.raises(errors.RecipientOptedOut):
        rules.check_invitation("email", True, Usage(0, None, 0, True), NOW, LIMITS)
    with pytest.raises(errors.DailyCapReached):
        rules.check_invitation("email", True, Usage(3, None, 0, False), NOW, LIMITS)
    with pytest.raises(errors.SmsBudgetExhausted):
        rules.check_invitation("sms", True, Usage(0, None, 5, False), NOW, LIMITS)
    rules.check_invitation("email", True, Usage(0, None, 5, False), NOW, LIMITS)  # e-mail is free


def test_recipient_cooldown_is_seven_days() -> None:
    recent = Usage(0, NOW - timedelta(days=7) + timedelta(seconds=1), 0, False)
    with pytest.raises(errors.RecipientCoolingDown) as refused:
        rules.check_invitation("sms", True, recent, NOW, LIMITS)
    assert "7 дней" in refused.value.message
    assert refused.value.message.startswith("На этот номер")  # a phone is not «адрес»
    rules.check_invitation("sms", True, Usage(0, NOW - timedelta(days=7), 0, False), NOW, LIMITS)
    with pytest.raises(errors.RecipientCoolingDown) as refused:
        rules.check_invitation("email", True, recent, NOW, LIMITS)
    assert refused.value.message.startswith("На этот адрес")
    assert "за последние 1 день" in errors.RecipientCoolingDown(1, "email").message


def test_today_is_the_moscow_calendar_day() -> None:
    late = datetime(2023, 3, 31, 21, 30, tzinfo=UTC)  # 00:30 on 01.04 in Moscow
    assert rules.day_start(late, MOSCOW) == msk("2023-04-01 00:00")


LINK = "http://127.0.0.1:5000/r/5e83e12b1"  # CABINET_BASE_URL's default
REFUSAL = "http://127.0.0.1:5000/s/AbCd1234"
LONGEST_NAME = ("Общество с ограниченной ответственностью «" + "Я" * 200)[:200]


def test_sms_text_names_the_inviter_carries_both_links_in_two_ucs2_segments() -> None:
    text = messages.sms_text("5e83e12b1", HELP_PAGE_TERMS, "ТехСтрой", LINK, REFUSAL)
    assert text == (
        f"ТехСтрой приглашает в Корпоративную АТС, скидка {TERMS.referee_percent}: {LINK} "
        f"Отказ: {REFUSAL}"
    )
    assert len(text) == 127 <= messages.SMS_MAX_CHARS == 134
    assert messages.sms_parts(text) == 2
    assert messages.sms_parts("я" * 70) == 1 and messages.sms_parts("я" * 71) == 2
    assert messages.sms_parts("я" * 135) == 3


def _base(length: int) -> str:
    return "https://" + "x" * (length - len("https://"))


@pytest.mark.parametrize(
    ("base", "named"),
    [
        ("http://127.0.0.1:5000", True),  # the default
        ("https://lk.korpats-example.ru", False),  # 29 characters: past the name's bound
        (_base(messages.SMS_NAMED_BASE_URL), True),
        (_base(messages.SMS_NAMED_BASE_URL + 1), False),
        (_base(messages.SMS_MAX_BASE_URL), False),
    ],
)
def test_the_sms_fits_two_parts_at_the_longest_company_name(base: str, named: bool) -> None:
    """Names go up to 200 characters (cabinet/clients/services.py): the name is cut to the
    room the rest of the text leaves, and ends with «…»; the links stay whole. Up to
    SMS_NAMED_BASE_URL characters of CABINET_BASE_URL a name is kept (at least SMS_MIN_NAME
    characters), up to SMS_MAX_BASE_URL the SMS still fits two parts without it; under any
    terms (the longest percent and months are the hardest)."""
    worst = replace(HELP_PAGE_TERMS, referee_percent=100, referee_months=120)
    for terms in (HELP_PAGE_TERMS, worst):
        link, refusal = f"{base}/r/5e83e12b1", f"{base}/s/AbCd1234"
        text = messages.sms_text("5e83e12b1", terms, LONGEST_NAME, link, refusal)
        assert len(text) <= messages.SMS_MAX_CHARS and messages.sms_parts(text) == 2
        assert link in text and text.endswith(f"Отказ: {refusal}")
        if not named:  # past the bound, the worst terms leave no room for a name
            assert terms is HELP_PAGE_TERMS or text.startswith("Корпоративная АТС, скидка")
            continue
        shown = text.split(" приглашает" if " приглашает" in text else ":")[0]
        assert shown.endswith("…") and LONGEST_NAME.startswith(shown[:-1])
        assert len(shown) >= messages.SMS_MIN_NAME


def test_past_the_base_url_bound_the_sms_takes_three_parts() -> None:
    base = _base(messages.SMS_MAX_BASE_URL + 1)
    worst = replace(HELP_PAGE_TERMS, referee_percent=100)
    text = messages.sms_text("5e83e12b1", worst, "ТехСтрой", f"{base}/r/5e83e12b1", f"{base}/s/A")
    assert messages.sms_parts(text) == 2  # a shorter token would still fit: the bound is tight
    text = messages.sms_text(
        "5e83e12b1", worst, "ТехСтрой", f"{base}/r/5e83e12b1", f"{base}/s/AbCd1234"
    )
    assert messages.sms_parts(text) == 3


def test_a_short_name_goes_whole() -> None:
    text = messages.sms_text("5e83e12b1", HELP_PAGE_TERMS, "ТехСтрой", LINK, REFUSAL)
    assert text.startswith("ТехСтрой приглашает") and "…" not in text
    short = "https://atc.ru"  # a short address leaves room for the longest wording
    text = messages.sms_text(
        "5e83e12b1", HELP_PAGE_TERMS, "Ромашка", f"{short}/r/5e83e12b1", f"{short}/s/AbCd1234"
    )
    assert text.startswith(
        f"Ромашка приглашает в Корпоративную АТС: скидка {TERMS.referee_percent} на "
        f"{TERMS.referee_months}: "
    )


def test_refusal_tokens_are_short_base62_and_spread() -> None:
    rng = random.Random(7)
    tokens = {rules.refusal_token(rng.randbytes(16)) for _ in range(2000)}
    assert len(tokens) == 2000
    assert all(rules.is_refusal_token(t) for t in tokens)
    assert not rules.is_refusal_token("AbCd123") and not rules.is_refusal_token("AbCd123!")
    assert rules.refusal_token(bytes(16)) == "00000000"
    assert rules.masked_phone("+79101234567") == "+7 910 ***-**-67"


def test_a_shared_links_marker_names_its_channel() -> None:
    assert [rules.link_channel(v) for v in (None, "", "qr", "tg", "wa", "share", "x")] == [
        "link",
        "link",
        "qr",
        "telegram",
        "whatsapp",
        "share",
        "link",
    ]


def test_email_has_subject_text_html_and_an_escaped_unsubscribe_link() -> None:
    letter = messages.email(
        "Рога & <Копыта>", "5e83e12b1", "http://x/unsubscribe/t?a=1&b=2", HELP_PAGE_TERMS, LINK
    )
    assert f"Приглашение со всеми условиями: {LINK}" in letter.text
    assert f'<a href="{LINK}">{LINK}</a>' in letter.html
    assert "5e83e12b1" in letter.text and "5e83e12b1" in letter.html
    assert TERMS.referee_percent.replace("\u00a0", " ") in letter.subject
    assert "\n" not in letter.subject
    assert "Рога &amp; &lt;Копыта&gt;" in letter.html and "<Копыта>" not in letter.html
    assert 'href="http://x/unsubscribe/t?a=1&amp;b=2"' in letter.html
    assert "http://x/unsubscribe/t?a=1&b=2" in letter.text
    assert "кроме пакетов SMS" in letter.text


@given(st.integers(min_value=1, max_value=30), st.integers(min_value=0, max_value=2**32))
def test_backoff_grows_and_is_bounded(attempt: int, seed: int) -> None:
    backoff = Backoff(base_seconds=2, max_seconds=600, max_attempts=8)
    delay = rules.retry_delay(attempt, backoff, random.Random(seed))
    ceiling = min(600, 2 * 2 ** (attempt - 1))
    assert ceiling / 2 <= delay <= ceiling


def test_retry_after_wins_when_longer_but_is_capped() -> None:
    backoff = Backoff(base_seconds=1, max_seconds=60, max_attempts=8)
    assert rules.retry_delay(1, backoff, random.Random(1), retry_after=30) == 30
    assert rules.retry_delay(1, backoff, random.Random(1), retry_after=3600) == 60


# ---- the SMS budget: a few accounts cannot drain it for everyone --------------------------

BUDGET = Limits(
    daily_cap=20,
    sms_daily_budget=500,
    sms_member_daily=5,
    sms_new_member_daily=2,
    new_member_days=7,
    sms_reserve=100,
)
ESTABLISHED = NOW - timedelta(days=30)
NEW = NOW - timedelta(days=2)


def sms_usage(member_sms: int, sms_today: int, since: datetime) -> Usage:
    return Usage(
        member_sms, None, sms_today, False, member_sms_today=member_sms, member_since=since
    )


def test_each_member_has_a_daily_sms_allowance_new_members_a_smaller_one() -> None:
    rules.check_invitation("sms", True, sms_usage(4, 0, ESTABLISHED), NOW, BUDGET)
    with pytest.raises(errors.SmsMemberCapReached):
        rules.check_invitation("sms", True, sms_usage(5, 0, ESTABLISHED), NOW, BUDGET)
    rules.check_invitation("sms", True, sms_usage(1, 0, NEW), NOW, BUDGET)
    with pytest.raises(errors.SmsMemberCapReached):
        rules.check_invitation("sms", True, sms_usage(2, 0, NEW), NOW, BUDGET)
    rules.check_invitation("email", True, sms_usage(2, 0, NEW), NOW, BUDGET)  # e-mail still


def test_the_last_of_the_days_budget_is_kept_for_established_members() -> None:
    with pytest.raises(errors.SmsBudgetExhausted):
        rules.check_invitation("sms", True, sms_usage(0, 400, NEW), NOW, BUDGET)
    rules.check_invitation("sms", True, sms_usage(0, 400, ESTABLISHED), NOW, BUDGET)
    with pytest.raises(errors.SmsBudgetExhausted):
        rules.check_invitation("sms", True, sms_usage(0, 500, ESTABLISHED), NOW, BUDGET)


@given(accounts=st.integers(1, 10_000))
def test_new_accounts_never_reach_the_reserve(accounts: int) -> None:
    """However many new accounts an attacker holds, established members keep the reserve."""
    sent = 0
    for _ in range(accounts):
        mine = 0
        while True:
            try:
                rules.check_invitation("sms", True, sms_usage(mine, sent, NEW), NOW, BUDGET)
            except (errors.SmsMemberCapReached, errors.SmsBudgetExhausted):
                break
            mine, sent = mine + 1, sent + 1
        if sent >= BUDGET.sms_open_to(True):
            break
    assert sent <= BUDGET.sms_daily_budget - BUDGET.sms_reserve
    rules.check_invitation("sms", True, sms_usage(0, sent, ESTABLISHED), NOW, BUDGET)


# ---- e-mail headers come from the e-mail library -------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ТехСтрой\r\nBcc: everyone@example.ru",
        "ТехСтрой\nX-Injected: 1",
        "ТехСтрой\u2028Bcc: x@example.ru",
        "Тех\u202eйортС",
        "Тех\x00Строй",
    ],
)
def test_no_header_injection_through_a_members_name(name: str) -> None:
    letter = messages.email(
        name, "5e83e12b1", "http://cabinet.test/unsubscribe/t", HELP_PAGE_TERMS, LINK
    )
    payload = messages.email_payload("friend@example.ru", letter)
    for value in (payload["subject"], payload["to"]):
        assert not any(ch in value for ch in "\r\n\u2028\u202e\x00")
    mime = messages.mime("friend@example.ru", letter)
    assert mime.get_all("Bcc") is None and mime.get_all("X-Injected") is None
    assert "Bcc" not in mime.as_string().split("\n\n", 1)[0]


def test_the_library_itself_refuses_a_line_break_in_a_header() -> None:
    letter = messages.Email("Тема\r\nBcc: x@example.ru", "текст", "<p>текст</p>")
    with pytest.raises(ValueError):
        messages.mime("friend@example.ru", letter)


@pytest.mark.parametrize(
    ("status", "receipt", "applied", "granted", "fate"),
    [
        ("queued", None, False, False, "queued"),
        ("sending", None, False, False, "sending"),
        ("sent", None, False, False, "sent"),
        ("sent", "delivered", False, False, "delivered"),
        ("sent", "undeliverable", False, False, "failed"),
        ("sent", "expired", False, False, "failed"),
        ("failed", None, False, False, "failed"),
        ("sent", "delivered", True, False, "applied"),
        ("sent", "delivered", True, True, "granted"),
    ],
)
def test_the_fate_of_an_invitation(
    status: str, receipt: str | None, applied: bool, granted: bool, fate: str
) -> None:
    assert rules.fate(status, receipt, applied, granted) == fate


def test_a_callback_signature_covers_the_timestamp_and_the_body() -> None:
    from datetime import UTC, datetime

    from cabinet.invitations import callbacks

    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    stamp = str(int(now.timestamp()))
    body = b'{"key": "k", "status": "delivered"}'
    signature = callbacks.sign("s" * 32, stamp, body)
    assert len(callbacks.verify("s" * 32, stamp, signature, body, now, 300)) == 64
    with pytest.raises(errors.CallbackSignatureBad):
        callbacks.verify("s" * 32, str(int(stamp) + 1), signature, body, now, 300)
    with pytest.raises(errors.CallbackSignatureBad):
        callbacks.verify("s" * 32, stamp, signature, body + b" ", now, 300)
    with pytest.raises(errors.CallbackTooOld):
        later = datetime(2026, 12, 4, 12, 5, 1, tzinfo=UTC)
        callbacks.verify("s" * 32, stamp, signature, body, later, 300)
    with pytest.raises(errors.CallbackMalformed):
        callbacks.verify("s" * 32, "yesterday", signature, body, now, 300)
    assert callbacks.parse_inbound('{"from": "+79101234567", "text": " Стоп! "}'.encode()).stop
