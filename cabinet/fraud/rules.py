"""Fraud signals for review: flags for a person to look at, never a block.

* the referee and the referrer share an e-mail domain that is not a public mail service
  (colleagues, or one company posing as two);
* they share a phone number;
* they share a mailbox: the same address once `+tags` (and, at Gmail, dots) are ignored. A
  client's e-mail is also its password-reset address, so this is the «same reset address» signal;
* a burst: at least `BURST_COUNT` referrals to one referrer within `BURST_WINDOW`.

Revoked referrals are left out: they have been reviewed already. These rules are pure
functions over plain values; `cabinet.fraud.queries` reads the database and calls them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Literal

from cabinet.moments import show_moment
from cabinet.texts import plural

# Addresses anybody can get: sharing one of these domains says nothing.
PUBLIC_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "mail.ru",
        "bk.ru",
        "inbox.ru",
        "list.ru",
        "internet.ru",
        "yandex.ru",
        "yandex.com",
        "ya.ru",
        "narod.ru",
        "rambler.ru",
        "lenta.ru",
        "autorambler.ru",
        "ro.ru",
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "yahoo.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "zoho.com",
        "qip.ru",
        "e1.ru",
        "ngs.ru",
    }
)
# Domains where dots in the mailbox name do not matter (ivan.petrov@ = ivanpetrov@).
DOTLESS_MAIL_DOMAINS: frozenset[str] = frozenset({"gmail.com", "googlemail.com"})
BURST_COUNT = 3
BURST_WINDOW = timedelta(hours=1)
PHONE_DIGITS = 10  # numbers are compared by their last ten digits (+7 910… = 8 910…)

SignalKind = Literal["shared_domain", "shared_phone", "same_mailbox", "burst"]


@dataclass(frozen=True)
class Contact:
    """What the signals need to know about a client."""

    client_id: int
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True)
class Activation:
    """One (non-revoked) referral: `referee` applied `referrer`'s code at `at`."""

    referral_id: int
    referrer: Contact
    referee: Contact
    at: datetime


@dataclass(frozen=True)
class Signal:
    kind: SignalKind
    referrer_id: int
    referee_ids: tuple[int, ...]
    referral_ids: tuple[int, ...]
    at: datetime  # the (latest) activation the signal is about
    text: str  # for the manager, in Russian


def email_domain(email: str | None) -> str | None:
    if not email or "@" not in email:
        return None
    return email.rsplit("@", 1)[1].strip().lower().rstrip(".") or None


def is_public_domain(domain: str) -> bool:
    return domain in PUBLIC_MAIL_DOMAINS


def mailbox(email: str | None) -> str | None:
    """The mailbox an address delivers to: lower-cased, `+tag` dropped, Gmail's dots ignored."""
    domain = email_domain(email)
    if email is None or domain is None:
        return None
    local = email.rsplit("@", 1)[0].strip().lower().split("+", 1)[0]
    if domain == "googlemail.com":
        domain = "gmail.com"
    if domain in DOTLESS_MAIL_DOMAINS:
        local = local.replace(".", "")
    return f"{local}@{domain}" if local else None


def phone_key(phone: str | None) -> str | None:
    """The number's last ten digits, or None when it has too few digits to mean anything."""
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < PHONE_DIGITS:
        return None
    return digits[-PHONE_DIGITS:]


def _who(contact: Contact) -> str:
    return f"{contact.client_id} «{contact.name}»"


def pair_signals(activation: Activation, zone: tzinfo) -> list[Signal]:
    """What the referee and the referrer of one referral have in common."""
    referrer, referee = activation.referrer, activation.referee
    lead = (
        f"Клиент {_who(referee)} применил код клиента {_who(referrer)} "
        f"{show_moment(activation.at, zone)}"
    )
    found: list[tuple[SignalKind, str]] = []
    box = mailbox(referee.email)
    if box is not None and box == mailbox(referrer.email):
        found.append(
            (
                "same_mailbox",
                f"{lead}: один и тот же почтовый ящик ({referrer.email} и {referee.email}), "
                "он же адрес для сброса пароля.",
            )
        )
    else:
        domain = email_domain(referee.email)
        if domain is not None and domain == email_domain(referrer.email):
            if not is_public_domain(domain):
                found.append(
                    (
                        "shared_domain",
                        f"{lead}: общий почтовый домен {domain} (не публичный почтовый сервис).",
                    )
                )
    number = phone_key(referee.phone)
    if number is not None and number == phone_key(referrer.phone):
        found.append(("shared_phone", f"{lead}: один и тот же телефон {referee.phone}."))
    return [
        Signal(
            kind,
            referrer.client_id,
            (referee.client_id,),
            (activation.referral_id,),
            activation.at,
            text,
        )
        for kind, text in found
    ]


def bursts(activations: Iterable[Activation], zone: tzinfo) -> list[Signal]:
    """Runs of at least BURST_COUNT referrals to one referrer, each within BURST_WINDOW of
    another BURST_COUNT − 1 of them; overlapping windows make one signal."""
    by_referrer: dict[int, list[Activation]] = {}
    for a in activations:
        by_referrer.setdefault(a.referrer.client_id, []).append(a)
    found: list[Signal] = []
    for referrer_id, items in sorted(by_referrer.items()):
        ordered = sorted(items, key=lambda a: (a.at, a.referral_id))
        for run in _runs(ordered):
            first, last = run[0], run[-1]
            found.append(
                Signal(
                    "burst",
                    referrer_id,
                    tuple(a.referee.client_id for a in run),
                    tuple(a.referral_id for a in run),
                    last.at,
                    f"Всплеск: {len(run)} {plural(len(run), 'клиент', 'клиента', 'клиентов')} "
                    f"применили код клиента {_who(first.referrer)} "
                    f"с {show_moment(first.at, zone)} по {show_moment(last.at, zone)} "
                    f"(порог — {BURST_COUNT} за {_hours(BURST_WINDOW)}).",
                )
            )
    return found


def _runs(ordered: Sequence[Activation]) -> list[list[Activation]]:
    runs: list[list[Activation]] = []
    start = 0
    current: tuple[int, int] | None = None  # index range [lo, hi] of the run being built
    for end in range(len(ordered)):
        while ordered[end].at - ordered[start].at > BURST_WINDOW:
            start += 1
        if end - start + 1 < BURST_COUNT:
            continue
        if current is not None and start <= current[1]:
            current = (current[0], end)
        else:
            if current is not None:
                runs.append(list(ordered[current[0] : current[1] + 1]))
            current = (start, end)
    if current is not None:
        runs.append(list(ordered[current[0] : current[1] + 1]))
    return runs


def _hours(window: timedelta) -> str:
    hours = window / timedelta(hours=1)
    return "1 час" if hours == 1 else f"{hours:g} ч"


def review(activations: Sequence[Activation], zone: tzinfo) -> list[Signal]:
    """Every signal over these activations, newest first."""
    found = [s for a in activations for s in pair_signals(a, zone)] + bursts(activations, zone)
    return sorted(found, key=lambda s: (s.at, s.kind), reverse=True)
