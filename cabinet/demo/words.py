"""Every number a story names, worded from the terms in force (never typed in a story).

A story's texts hold places such as `{p3}` or `{sms_and3}`; `rule_words` fills every place a
story may use for any valid version of the terms (1…MAX_LEVELS levels, SMS packs on any level
or none), so a story never meets a place it cannot fill. The numbers go through the cabinet's
one formatting of Russian: `cabinet.texts` (percents, numbers, plurals) and `cabinet.moments`.

`p{k}`, `m{k}` are what a referrer holds after its k-th referral in a row: the level
min(k, top level) — at the top the ladder stays — with «Ваша скидка» capped by the terms' cap.
`sms_and{k}` is « и пакет из … SMS» when the k-th referral brings a pack, else nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from cabinet.moments import show_moment
from cabinet.program.rules import MAX_LEVELS
from cabinet.referrals.rules import HELP_PAGE_TERMS, TermsNumbers
from cabinet.referrals.terms import sms_pack
from cabinet.texts import invited_word, months, months_within, number, percent, plural

# The ladder story brings this many clients; the fraud story three of them.
LADDER_CLIENTS = 5


def _listed(items: list[str]) -> str:
    """«a», «a и b», «a, b и c»."""
    if len(items) < 2:
        return "".join(items)
    return ", ".join(items[:-1]) + " и " + items[-1]


def invited(n: int) -> str:
    """«5 приглашенных», as «Ваша скидка» counts them."""
    return f"{number(n)} {invited_word(n)}"


def rule_words(terms: TermsNumbers) -> dict[str, str]:
    """The places every story may use, filled from `terms`."""
    cap = terms.max_discount_percent
    words = {
        "ref_p": percent(min(terms.referee_percent, cap)),
        "ref_m": months(terms.referee_months),
        "window_within": months_within(terms.apply_window_months),
        "p0": percent(0),
        "max": percent(cap),
    }
    packs: list[str] = []
    upto: list[str] = []
    for k in range(1, MAX_LEVELS + 1):
        step = terms.step(k)
        words[f"p{k}"] = percent(min(step.percent, cap))
        words[f"m{k}"] = months(step.months)
        words[f"invited{k}"] = invited(k)
        pack = next(
            (s.sms_pack for s in terms.ladder if s.level == k and s.sms_pack is not None), None
        )
        words[f"sms_and{k}"] = "" if pack is None else f" и {sms_pack(pack)}"
        words[f"sms_back{k}"] = "" if pack is None else f", {sms_pack(pack)} отменен"
        upto.extend([] if pack is None else [sms_pack(pack)])
        words[f"sms_upto{k}"] = f" и {_listed(upto)}" if upto else ""
        if pack is not None and k <= LADDER_CLIENTS:
            packs.append(f"{number(pack)} SMS")
    # The ladder story: where five referrals lead, and the packs they bring on the way.
    one = len(packs) == 1
    words["ladder_packs_title"] = "" if not packs else (" и пакет SMS" if one else " и пакеты SMS")
    words["ladder_packs"] = (
        ", без пакетов SMS" if not packs else f", {'пакет' if one else 'пакеты'} {_listed(packs)}"
    )
    held = plural(len(packs), "пакет", "пакета", "пакетов")
    words["ladder_packs_held"] = f", {number(len(packs))} {held} SMS" if packs else ""
    return words


@dataclass(frozen=True)
class CampaignWords:
    """What the campaign story needs beyond the regular terms."""

    regular: TermsNumbers
    campaign: TermsNumbers
    starts: datetime
    ends: datetime
    days: int


def campaign_words(c: CampaignWords, zone: tzinfo) -> dict[str, str]:
    first = c.campaign.ladder[0]
    return {
        **rule_words(c.regular),
        "cp1": percent(min(first.percent, c.campaign.max_discount_percent)),
        "cm1": months(first.months),
        "cstart": show_moment(c.starts, zone),
        "cend": show_moment(c.ends, zone),
        "cdays": f"{number(c.days)} {plural(c.days, 'день', 'дня', 'дней')}",
    }


# Every place of the terms a story may use (a test checks each story's texts against them).
CAMPAIGN_PLACES = frozenset({"cp1", "cm1", "cstart", "cend", "cdays"})
RULE_PLACES = frozenset(rule_words(HELP_PAGE_TERMS))
