"""The personal link /r/<code>: a public page about the invitation, the code kept for the
invitee's «Применить», and what the share dialog offers (the link, its QR code, messengers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import segno
from flask import Blueprint, Response, current_app, make_response, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from cabinet import limits, referral_page
from cabinet.clock import current_context
from cabinet.invitations import messages
from cabinet.invitations import rules as invitation_rules
from cabinet.moments import show_moment
from cabinet.referrals import links, rules

bp = Blueprint("links", __name__)

# The code a visitor of /r/<code> brought, kept for «Применить» after sign-in: a signed cookie
# of its own (signing in starts a new session; this survives it), never applied by itself.
PENDING_COOKIE = "cabinet_invite_code"
_SALT = "pending-invite-code"
# The longest a kept code is read back: the window of any terms is at most this.
_PENDING_MAX = timedelta(days=366 * 10)


def personal_link(code: str) -> str:
    """The absolute link of a code: CABINET_BASE_URL/r/<code>."""
    base: str = current_app.config["CABINET_BASE_URL"]
    return base.rstrip("/") + url_for("links.personal", code=code)


@dataclass(frozen=True)
class LinkPage:
    """What /r/<code> shows: the inviter's name, the code and the terms in force."""

    inviter: str
    code: str
    code_parts: tuple[str, str]
    campaign: str | None  # «Акция «…» — условия действуют до 30.04.2023 00:00»
    window_months: int


def build(inviter: str, code: str, now: datetime, zone: ZoneInfo) -> LinkPage:
    version = referral_page.terms_schedule().version_at(now)
    campaign = None
    if version.ends_at is not None:
        title = f" «{version.title}»" if version.title else ""
        campaign = f"Акция{title} — условия действуют до {show_moment(version.ends_at, zone)}"
    return LinkPage(
        inviter=inviter,
        code=code,
        code_parts=(code[:5], code[5:]),
        campaign=campaign,
        window_months=version.terms.apply_window_months,
    )


@bp.get("/r/<code>")
@limits.personal_link_limits
def personal(code: str) -> Response:
    """The invitation a friend opens: who invites, the offer in force, the steps, the code."""
    inviter = links.inviter_name(code)
    if inviter is None:
        return make_response(render_template("links/unknown.html"), 404)
    context = current_context()
    normal = rules.normalise_code(code)
    view = build(inviter, normal, context.clock.now(), context.timezone)
    response = make_response(render_template("links/personal.html", view=view))
    keep = timedelta(days=31 * view.window_months)
    via = request.args.get("via", "")
    response.set_cookie(
        PENDING_COOKIE,
        _serializer().dumps([normal, via if via in invitation_rules.VIA_MARKERS else ""]),
        max_age=int(keep.total_seconds()),
        httponly=True,
        samesite="Lax",
        secure=current_app.config["CABINET_ENV"] == "production",
    )
    return response


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


@dataclass(frozen=True)
class Pending:
    """The code a /r/ link left in this browser, and the link's marker (`?via=qr`, …; empty
    for the link as copied): the channel it came through."""

    code: str
    via: str


def pending() -> Pending | None:
    """What a /r/ link left in this browser, if anything (signed: never a typed value)."""
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None
    try:
        kept = _serializer().loads(raw, max_age=int(_PENDING_MAX.total_seconds()))
    except BadSignature:
        return None
    code, via = (kept, "") if isinstance(kept, str) else (str(kept[0]), str(kept[1]))
    return Pending(code, via) if rules.is_code(code) else None


def pending_code() -> str | None:
    """The code a /r/ link left in this browser, if any."""
    found = pending()
    return None if found is None else found.code


def forget_code(response: Response | BaseResponse) -> Response | BaseResponse:
    """The code was applied: the browser keeps it no longer."""
    response.delete_cookie(PENDING_COOKIE)
    return response


@dataclass(frozen=True)
class Sharing:
    """«Поделиться ссылкой» in the share dialog."""

    link: str
    share_link: str  # the link the share sheet hands on (marked `?via=share`)
    text: str  # what the share sheet and the messengers say beside the link
    qr_svg: Markup
    telegram: str
    whatsapp: str


def sharing(code: str, inviter: str, program_stamp: int | None = None) -> Sharing:
    """The link as copied is bare; the QR code, the messengers and the share sheet add their
    marker (`?via=qr|tg|wa|share`), so an applied code tells which way it came."""
    link = personal_link(code)
    terms = referral_page.terms_schedule(program_stamp).at(current_context().clock.now())
    text = messages.share_text(code, terms, inviter)
    return Sharing(
        link=link,
        share_link=f"{link}?via=share",
        text=text,
        qr_svg=qr_svg(f"{link}?via=qr"),
        telegram="https://t.me/share/url?"
        + urlencode({"url": f"{link}?via=tg", "text": text}, quote_via=quote),
        whatsapp="https://wa.me/?" + urlencode({"text": f"{text} {link}?via=wa"}, quote_via=quote),
    )


QR_CODES_KEPT = 1024  # links, ≈3 KB of SVG each


@lru_cache(maxsize=QR_CODES_KEPT)
def qr_svg(link: str) -> Markup:
    """The link's QR code as inline SVG, made here (no outside service): one path, colours
    as attributes (no style attribute: the CSP allows none). Kept per link: drawing one costs
    more than the rest of the share dialog."""
    code = segno.make(link, error="m", micro=False)
    svg = code.svg_inline(scale=4, svgclass="qr", lineclass=None, title=f"QR-код ссылки {link}")
    # segno's own markup; it escapes the title, and the link is ours (CABINET_BASE_URL + code).
    return Markup(svg)  # noqa: S704  # nosec B704
