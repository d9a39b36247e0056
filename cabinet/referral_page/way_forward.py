"""The sentences that show a client the way forward, worded from the rules' answers.

`rules.next_referral` and `rules.referee_offer` decide; this module only puts their numbers and
dates into Russian, so no template or view types a percent, a duration or a deadline.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from cabinet.moments import show_date, show_moment
from cabinet.referrals import rules
from cabinet.referrals.terms import sms_pack, timeline_words, until_words
from cabinet.texts import months, percent


def next_referral_sentence(step: rules.NextReferral, zone: tzinfo) -> str:
    """«Еще 1 клиент — и скидка станет … до …», from the rule's answer: when the discount would
    change over time (grants that end, or start, at other moments), each stretch in turn —
    «X % до D1, затем Y % до D2»."""
    stretches = step.timeline or (rules.Stretch(step.discount_percent, step.grant.ends_at),)
    told = timeline_words(stretches, zone)
    if step.extends and step.level_before == step.grant.level and len(stretches) == 1:
        sentence = f"Еще 1 клиент — и скидка {percent(stretches[0].percent)} продлится до " + (
            until_words(stretches, 0, zone)
        )
    elif step.restarts:
        sentence = (
            "Скидка за приведенных клиентов закончилась. Еще 1 клиент — и лестница начнется "
            f"заново: скидка станет {told}"
        )
    else:
        sentence = f"Еще 1 клиент — и скидка станет {told}"
    if step.sms_pack is not None:
        sentence += f", а в подарок — {sms_pack(step.sms_pack)}"
    return sentence + "."


def referee_offer_lines(offer: rules.RefereeOffer, zone: tzinfo) -> tuple[str, ...]:
    """What applying a friend's code gives, and until when it may be applied; the promo-period
    sentence only when a promo period is still running."""
    grant = offer.grant
    lines = [
        f"Скидка {percent(grant.percent)} на {months(offer.months)}: "
        f"с {show_date(grant.starts_at, zone)} по {show_date(grant.ends_at, zone)}."
    ]
    if offer.waits_for_promo:
        lines.append(
            "Скидка начнет действовать после окончания промо-периода, "
            f"{show_date(grant.starts_at, zone)}."
        )
    lines.append(f"Применить код можно до {_deadline(offer.deadline, zone)}.")
    return tuple(lines)


def _deadline(moment: datetime, zone: tzinfo) -> str:
    return show_moment(moment, zone)
