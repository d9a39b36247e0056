"""What a member's page shows depends on, for conditional requests and the cache of rendered
pages (cabinet/conditional.py): the signed-in identity, the member's change stamps
(cabinet/stamps.py) and what the session adds to a page.

Called inside a view behind `client_required`: a revoked or timed-out session never gets here,
so it never gets a 304 or a kept body. The revisit gate (cabinet/revisits) names the
same requests before Flask sees them, from the same `member_parts`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Response, current_app, request
from flask import session as cookie_session
from flask_login import current_user

from cabinet import conditional
from cabinet.auth.roles import current_visitor
from cabinet.clock import Clock, current_context
from cabinet.demo.clock import DemoClock
from cabinet.htmx import is_htmx, wants_fragment
from cabinet.web import links

CSRF_KEY = "csrf_token"  # Flask-WTF's session key: the raw token each form's token is signed from
FLASHES_KEY = "_flashes"  # Flask's: a message shown once

# The views that answer through `member_answer`: the gate answers their repeated reads.
MEMBER_VIEWS = frozenset({"referrals.show", "invitations.dialog"})


def member_answer(render: Callable[[], Response]) -> Response:
    """The member's page or fragment (named by its endpoint): a 304, the kept body, or
    `render()`."""
    visitor = current_visitor()
    if visitor is None or not names_pages(cookie_session):
        return render()
    client = visitor.client
    context = current_context()
    parts = member_parts(
        user_id=current_user.get_id(),
        client_id=client.id,
        stamps=(client.stamp, client.program_stamp),
        manager_id=None if visitor.manager is None else visitor.manager.id,
        may_act=visitor.may_act,
        csrf=cookie_session[CSRF_KEY],
        pending=request.cookies.get(links.PENDING_COOKIE),
        htmx=(is_htmx(), wants_fragment()),
        demo_shifted=demo_shifted(current_app.config, context.clock),
    )
    return conditional.answer(str(request.endpoint), parts, render, context.clock.now)


def names_pages(session: Mapping[str, Any]) -> bool:
    """A session whose pages may be named: one with a flash message shows it once, and one
    with no CSRF token yet gets one now."""
    return FLASHES_KEY not in session and CSRF_KEY in session


def member_parts(
    *,
    user_id: str,
    client_id: int,
    stamps: tuple[int | None, int | None],
    manager_id: int | None,
    may_act: bool,
    csrf: object,
    pending: str | None,
    htmx: tuple[bool, bool],
    demo_shifted: bool | None,
) -> tuple[object, ...]:
    """Everything a member's page depends on besides its URL and the minute."""
    return (
        user_id,
        client_id,
        *stamps,
        manager_id,
        may_act,
        csrf,
        pending,
        htmx[1],
        htmx[0],
        demo_shifted,
    )


def demo_shifted(config: Mapping[str, Any], clock: Clock) -> bool | None:
    if not config["DEMO_MODE"]:
        return None
    return isinstance(clock, DemoClock) and clock.offset() != 0
