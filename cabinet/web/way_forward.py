"""The sentences that show a client the way forward, worded from the rules' answers.

`rules.next_referral` and `rules.referee_offer` decide; this module only puts their numbers and
dates into Russian, so no template or view types a percent, a duration or a deadline.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from cabinet.moments import show_date, show_moment
from cabinet.referrals import rules
from cabinet.texts import months


def next_referral_sentence(step: rules.NextReferral, zone: tzinfo) -> str:
    """«Ещё 1 клиент — и скидка станет 80% до 25.11.2027»."""
    until = show_date(step.grant.ends_at, zone)
    percent = step.discount_percent
    if step.extends and step.level_before == step.grant.level:
        sentence = f"Ещё 1 клиент — и скидка {percent}% продлится до {until}"
    elif step.restarts:
        sentence = (
            "Скидка за приведенных клиентов закончилась. Ещё 1 клиент — и лестница начнётся "
            f"заново: скидка станет {percent}% до {until}"
        )
    else:
        sentence = f"Ещё 1 клиент — и скидка станет {percent}% до {until}"
    if step.sms_pack is not None:
        sentence += f", а в подарок — пакет из {step.sms_pack} SMS"
    return sentence + "."


def referee_offer_lines(offer: rules.RefereeOffer, zone: tzinfo) -> tuple[str, ...]:
    """What applying a friend's code gives, and until when it may be applied; the promo-period
    sentence only when a promo period is still running."""
    grant = offer.grant
    lines = [
        f"Скидка {grant.percent}% на {months(offer.months)}: "
        f"с {show_date(grant.starts_at, zone)} по {show_date(grant.ends_at, zone)}."
    ]
    if offer.waits_for_promo:
        lines.append(
            "Скидка начнёт действовать после окончания промо-периода, "
            f"{show_date(grant.starts_at, zone)}."
        )
    lines.append(f"Применить код можно до {_deadline(offer.deadline, zone)}.")
    return tuple(lines)


def _deadline(moment: datetime, zone: tzinfo) -> str:
    return show_moment(moment, zone)
