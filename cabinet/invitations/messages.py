"""The invitation texts, one place. The member chooses the recipient, never the words."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from html import escape
from typing import Any

from cabinet.inputs import display_safe
from cabinet.referrals.rules import APPLY_WINDOW_MONTHS, REFEREE_MONTHS, REFEREE_PERCENT
from cabinet.texts import months

# Cyrillic text travels as UCS-2: 70 characters in one SMS, 67 in each part of a longer one.
UCS2_SINGLE = 70
UCS2_PART = 67
SMS_MAX_PARTS = 2
SMS_MAX_CHARS = UCS2_PART * SMS_MAX_PARTS  # 134


def sms_parts(text: str) -> int:
    if len(text) <= UCS2_SINGLE:
        return 1
    return -(-len(text) // UCS2_PART)


def sms_text(code: str) -> str:
    return (
        f"Код-приглашение в Корпоративную АТС: {code}. Скидка {REFEREE_PERCENT}% на "
        f"{months(REFEREE_MONTHS)}: введите код в личном кабинете за месяц после регистрации АТС"
    )


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email(raw_member_name: str, code: str, unsubscribe_url: str) -> Email:
    # A name stored before names were checked may still hold a line break: in a header it
    # would start a new header. It goes everywhere as one clean line.
    member_name = display_safe(raw_member_name)
    window = "месяца" if APPLY_WINDOW_MONTHS == 1 else months(APPLY_WINDOW_MONTHS)
    terms = (
        f"Зарегистрируйте код в личном кабинете Корпоративной АТС в течение {window} после "
        f"регистрации вашей АТС и получите скидку {REFEREE_PERCENT}% на первые "
        f"{months(REFEREE_MONTHS)} пользования. Скидка начнёт действовать после окончания "
        "промо-периода и распространяется на все услуги Корпоративной АТС, кроме пакетов SMS."
    )
    steps = (
        "В личном кабинете выберите «Дополнительно» → «Реферальная программа», введите код "
        "и нажмите «Применить»."
    )
    subject = f"{member_name} приглашает вас в Корпоративную АТС: скидка {REFEREE_PERCENT}%"
    text = (
        f"Здравствуйте!\n\n{member_name} приглашает вас в реферальную программу "
        f"Корпоративной АТС.\n\nВаш код приглашения: {code}\n\n{terms}\n\n{steps}\n\n"
        f"Чтобы больше не получать приглашения, перейдите по ссылке: {unsubscribe_url}\n"
    )
    html = (
        '<!doctype html><html lang="ru"><body style="font-family:Arial,sans-serif">'
        f"<p>Здравствуйте!</p><p>{escape(member_name)} приглашает вас в реферальную программу "
        "Корпоративной АТС.</p>"
        "<p>Ваш код приглашения: "
        f'<b style="font-size:20px;letter-spacing:2px">{escape(code)}</b></p>'
        f"<p>{escape(terms)}</p><p>{escape(steps)}</p>"
        f'<p style="color:#666;font-size:12px">Чтобы больше не получать приглашения, '
        f'<a href="{escape(unsubscribe_url)}">откажитесь от рассылки</a>.</p></body></html>'
    )
    return Email(subject, text, html)


def sms_payload(to: str, code: str) -> dict[str, Any]:
    return {"to": to, "text": sms_text(code)}


def mime(to: str, message: Email) -> EmailMessage:
    """The letter as the e-mail library builds it: headers set (and checked) by the library,
    never by joining strings; a plain-text part and an HTML alternative."""
    letter = EmailMessage(policy=SMTP)
    letter["To"] = to  # the library refuses CR/LF in any header value
    letter["Subject"] = message.subject
    letter.set_content(message.text)
    letter.add_alternative(message.html, subtype="html")
    return letter


def email_payload(to: str, message: Email) -> dict[str, Any]:
    letter = mime(to, message)
    return {
        "to": str(letter["To"]),
        "subject": str(letter["Subject"]),
        "text": message.text,
        "html": message.html,
    }
