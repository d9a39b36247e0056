"""What a member's page shows depends on, for conditional requests and the cache of rendered
pages (cabinet/conditional.py): the signed-in identity, the member's change stamps
(cabinet/stamps.py) and what the session adds to a page.

Called inside a view behind `client_required`: a revoked or timed-out session never gets here,
so it never gets a 304 or a kept body."""

from __future__ import annotations

from collections.abc import Callable

from flask import Response, current_app, request
from flask import session as cookie_session
from flask_login import current_user

from cabinet import conditional
from cabinet.auth.roles import current_visitor
from cabinet.clock import current_context
from cabinet.demo.clock import DemoClock
from cabinet.htmx import is_htmx, wants_fragment
from cabinet.web import links

CSRF_KEY = "csrf_token"  # Flask-WTF's session key: the raw token each form's token is signed from


def member_answer(kind: str, render: Callable[[], Response]) -> Response:
    """The member's page or fragment `kind`: a 304, the kept body, or `render()`."""
    visitor = current_visitor()
    if visitor is None or "_flashes" in cookie_session or CSRF_KEY not in cookie_session:
        # A flash message is shown once; a session with no CSRF token yet gets one now.
        return render()
    client = visitor.client
    context = current_context()
    parts = (
        current_user.get_id(),
        client.id,
        client.stamp,
        client.program_stamp,
        None if visitor.manager is None else visitor.manager.id,
        visitor.may_act,
        cookie_session[CSRF_KEY],
        request.cookies.get(links.PENDING_COOKIE),
        wants_fragment(),
        is_htmx(),
        _demo_shifted(),
    )
    return conditional.answer(kind, parts, render, context.clock.now)


def _demo_shifted() -> bool | None:
    if not current_app.config["DEMO_MODE"]:
        return None
    clock = current_context().clock
    return isinstance(clock, DemoClock) and clock.offset() != 0
