"""The invitation texts, one place. The member chooses the recipient, never the words; the
numbers are those of the terms in force when the invitation is queued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, parseaddr
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from cabinet.config import PROJECT_ROOT
from cabinet.inputs import display_safe
from cabinet.moments import show_moment
from cabinet.referrals.rules import Grant, TermsNumbers
from cabinet.referrals.terms import words
from cabinet.texts import percent
from cabinet.typeset import Typeset

# The texts are templates (templates/messages/): the numbers are those of the terms in force
# when the invitation is queued (`terms`, through `words`); the HTML part is escaped and gets
# the same non-breaking spaces as the pages.
_TEMPLATES = Environment(
    loader=FileSystemLoader(PROJECT_ROOT / "templates" / "messages"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    extensions=[Typeset],
)

# Cyrillic text travels as UCS-2: 70 characters in one SMS, 67 in each part of a longer one.
UCS2_SINGLE = 70
UCS2_PART = 67
SMS_MAX_PARTS = 2
SMS_MAX_CHARS = UCS2_PART * SMS_MAX_PARTS  # 134


def sms_parts(text: str) -> int:
    if len(text) <= UCS2_SINGLE:
        return 1
    return -(-len(text) // UCS2_PART)


# The wordings of an invitation SMS, longest first: each names the inviter and carries the
# personal link (it holds the code) and the refusal link. The inviter's name takes the room
# the rest leaves in two parts.
SMS_WORDINGS = ("invitation_sms.txt", "invitation_sms_short.txt", "invitation_sms_shortest.txt")
SMS_NAMELESS = "invitation_sms_nameless.txt"
# A name cut shorter than this says little: the next, shorter wording is tried instead.
SMS_MIN_NAME = 12
ELLIPSIS = "…"
# The longest CABINET_BASE_URL (it is in both links) under which, whatever the terms, an SMS
# still names the inviter (at least SMS_MIN_NAME characters), and under which it fits two
# parts at all (without the name). Past it, an SMS takes three parts: keep the address short.
SMS_NAMED_BASE_URL = 27
SMS_MAX_BASE_URL = 35


def sms_text(code: str, terms: TermsNumbers, inviter: str, link: str, refusal: str) -> str:
    """The SMS: who invites, the discount, the personal link and how to refuse (`refusal`,
    /s/<token>), in at most two UCS-2 parts. The rule for a long company name
    (docs/invitations.md): the first wording that holds the whole name, or leaves it at least
    SMS_MIN_NAME characters, is used, the name cut to the room left and ended with «…»; if
    none does (a long CABINET_BASE_URL), the wording without the name. The links are never
    cut."""
    name = display_safe(inviter)
    context = {"code": code, "link": link, "refusal": refusal}
    for template in SMS_WORDINGS:
        # Rendered with a one-letter name: the room left for the name is what the rest leaves.
        room = SMS_MAX_CHARS - (len(_render(template, terms, inviter="X", **context)) - 1)
        if len(name) <= room:
            return _render(template, terms, inviter=name, **context)
        if room >= SMS_MIN_NAME:
            short = name[: room - len(ELLIPSIS)].rstrip() + ELLIPSIS
            return _render(template, terms, inviter=short, **context)
    return _render(SMS_NAMELESS, terms, **context)


def share_text(code: str, terms: TermsNumbers, inviter: str) -> str:
    """What the member's own sharing says beside the link (the share sheet, Telegram,
    WhatsApp): the SMS's first wording without the link."""
    return _render("invitation_share.txt", terms, code=code, inviter=display_safe(inviter))


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def email(
    raw_member_name: str, code: str, unsubscribe_url: str, terms: TermsNumbers, link: str
) -> Email:
    """An invitation letter: a subject line, a plain-text part and an HTML part, with the
    personal link (`link`, /r/<code>)."""
    # A name stored before names were checked may still hold a line break: in a header it
    # would start a new header. It goes everywhere as one clean line.
    member_name = display_safe(raw_member_name)
    context = {
        "member_name": member_name,
        "code": code,
        "unsubscribe_url": unsubscribe_url,
        "link": link,
    }
    return Email(
        " ".join(_render("invitation_subject.txt", terms, **context).split()),
        _render("invitation.txt", terms, **context) + "\n",
        _render("invitation.html", terms, **context) + "\n",
    )


def applied_notice(
    raw_referee_name: str, told: str, reward: Grant | None, now: datetime, zone: tzinfo
) -> Email:
    """The member's notice «Клиент … применил ваш код»: «Ваша скидка» from the activation on,
    stretch by stretch as the member's page says it (`told`, «X % до D1, затем Y % до D2»);
    a grant that starts later (none does today: a referrer's grant starts at the activation)
    says when. No reward (None): it waits for the friend's first payment (terms that reward
    the first payment), and the letter says «начислится после первой оплаты»."""
    context = {
        "referee_name": display_safe(raw_referee_name),
        "told": told,
        "waits": reward is None,
        "starts": ""
        if reward is None or reward.starts_at <= now
        else show_moment(reward.starts_at, zone),
        "grant_percent": "" if reward is None else percent(reward.percent),
    }
    return Email(
        " ".join(_plain("applied_notice_subject.txt", context).split()),
        _plain("applied_notice.txt", context) + "\n",
        _plain("applied_notice.html", context) + "\n",
    )


def sms_payload(
    to: str, code: str, terms: TermsNumbers, inviter: str, link: str, refusal: str, sender: str
) -> dict[str, Any]:
    """What the SMS gateway is sent: the number, the text (with the refusal link), and the
    sender's alpha-name (SMS_SENDER_NAME)."""
    return {"to": to, "text": sms_text(code, terms, inviter, link, refusal), "sender": sender}


def mime(to: str, message: Email) -> EmailMessage:
    """The letter as the e-mail library builds it: headers set (and checked) by the library,
    never by joining strings; a plain-text part and an HTML alternative."""
    letter = EmailMessage(policy=SMTP)
    letter["To"] = to  # the library refuses CR/LF in any header value
    letter["Subject"] = message.subject
    letter.set_content(message.text)
    letter.add_alternative(message.html, subtype="html")
    return letter


ONE_CLICK = "List-Unsubscribe=One-Click"


def list_unsubscribe(unsubscribe_url: str, mailto: str | None) -> str:
    """RFC 2369's `List-Unsubscribe`: the one-click https address first (RFC 8058), then a
    mailto for clients that only write letters."""
    links = [f"<{unsubscribe_url}>"]
    if mailto:
        links.append(f"<mailto:{mailto}?subject=unsubscribe>")
    return ", ".join(links)


def email_payload(
    to: str, message: Email, unsubscribe_url: str = "", mailto: str | None = None
) -> dict[str, Any]:
    """What is stored in the outbox and sent: the HTTP gateway gets it as JSON, the SMTP
    gateway builds the letter from it (`smtp_letter`). `headers` are the unsubscribe headers
    every letter carries."""
    letter = mime(to, message)
    payload: dict[str, Any] = {
        "to": str(letter["To"]),
        "subject": str(letter["Subject"]),
        "text": message.text,
        "html": message.html,
    }
    if unsubscribe_url:
        payload["headers"] = {
            "List-Unsubscribe": list_unsubscribe(unsubscribe_url, mailto),
            "List-Unsubscribe-Post": ONE_CLICK,
        }
    return payload


def message_id(key: str, sender: str) -> str:
    """`<key@domain>`: the same on every attempt of one invitation, so a copy sent again
    after a crash is recognisable as the same letter."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    return f"<{key}@{domain}>"


def smtp_letter(payload: dict[str, Any], key: str, sender: str) -> EmailMessage:
    """The stored payload as a letter for an SMTP server: From, Date, Message-ID from the
    invitation's key, the unsubscribe headers; every header set by the library."""
    letter = mime(
        str(payload["to"]),
        Email(str(payload["subject"]), str(payload["text"]), str(payload["html"])),
    )
    letter["From"] = sender
    letter["Date"] = formatdate(localtime=False, usegmt=True)
    letter["Message-ID"] = message_id(key, sender)
    headers = payload.get("headers") or {}
    for name in ("List-Unsubscribe", "List-Unsubscribe-Post"):
        if name in headers:
            letter[name] = str(headers[name])
    return letter


def _plain(name: str, context: dict[str, Any]) -> str:
    return _TEMPLATES.get_template(name).render(**context).strip()


def _render(name: str, terms: TermsNumbers, **context: Any) -> str:
    return _TEMPLATES.get_template(name).render(terms=words(terms), **context).strip()
