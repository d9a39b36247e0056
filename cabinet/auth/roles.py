"""Who may open what.

The cabinet's pages are for clients; /manage for managers. A manager with the right
(`Manager.opens_client_cabinets`) may open one client's cabinet («Открыть как клиент»): the
session keeps the manager's own id (`m<id>.<version>`) and, beside it, the client whose cabinet
is open. Everything done there is done for that client and written to the audit log as the
manager's action; outside demo mode the cabinet is read-only for the manager.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import (
    Response,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie_session
from flask_login import current_user

from cabinet.auth.errors import ReadOnlyCabinet
from cabinet.auth.models import Manager
from cabinet.clients.models import Client, ClientRecord, load_record
from cabinet.extensions import login_manager
from cabinet.htmx import redirect_to, retarget, wants_fragment

View = TypeVar("View", bound=Callable[..., Any])

# Session keys: the client whose cabinet a manager has open, and where «Вернуться в панель» goes.
ACTING_FOR = "acting_for"
RETURN_TO = "acting_return"


@dataclass(frozen=True)
class Visitor:
    """Who is in a client's cabinet: the client itself, or a manager acting for it."""

    client: ClientRecord
    manager: Manager | None  # set when a manager opened the cabinet
    may_act: bool  # the client always; a manager only in demo mode

    @property
    def client_id(self) -> int:
        return self.client.id

    @property
    def client_name(self) -> str:
        return self.client.name


def may_open_cabinets(manager: Manager) -> bool:
    return bool(manager.opens_client_cabinets)


def may_act_for_clients(manager: Manager) -> bool:
    """In production support only looks; in demo mode the manager plays the client."""
    return may_open_cabinets(manager) and bool(current_app.config["DEMO_MODE"])


def current_visitor() -> Visitor | None:
    """The cabinet's visitor for this request (computed once), or None when there is none."""
    if "cabinet_visitor" not in g:
        g.cabinet_visitor = _visitor()
    visitor: Visitor | None = g.cabinet_visitor
    return visitor


def _visitor() -> Visitor | None:
    if not current_user.is_authenticated:
        return None
    user = current_user._get_current_object()
    if isinstance(user, ClientRecord):
        return Visitor(user, None, True)
    if isinstance(user, Client):  # signed in during this very request
        return Visitor(ClientRecord.of(user), None, True)
    if isinstance(user, Manager) and may_open_cabinets(user):
        client_id = cookie_session.get(ACTING_FOR)
        client = load_record(client_id) if isinstance(client_id, int) else None
        if client is not None:
            return Visitor(client, user, may_act_for_clients(user))
    return None


def current_client() -> ClientRecord:
    """The client whose cabinet this is (a view behind `client_required`), already loaded."""
    visitor = current_visitor()
    if visitor is None:  # pragma: no cover - client_required let nobody else in
        raise RuntimeError("no client in this request")
    return visitor.client


def current_client_id() -> int:
    return current_client().id


def client_required(view: View) -> View:
    """A client, or a manager who opened this client's cabinet."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_visitor() is None:
            return redirect(url_for("manage.dashboard"))  # a manager has no client pages
        return view(*args, **kwargs)

    return cast(View, wrapped)


def client_action(view: View) -> View:
    """A change in the cabinet: refused, with a clear message, to a manager who may only look."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        visitor = current_visitor()
        if visitor is not None and not visitor.may_act:
            return read_only_refusal()
        return view(*args, **kwargs)

    return cast(View, wrapped)


def read_only_refusal() -> Response:
    """403 with the reason: the whole page, or for htmx the message in the page's #alerts."""
    template = "errors/_error.html" if wants_fragment() else "errors/error.html"
    response = make_response(
        render_template(
            template, status=403, title="Только просмотр", text=ReadOnlyCabinet().message
        ),
        403,
    )
    return retarget(response, "#alerts", "innerHTML")


def manager_required(view: View) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not isinstance(
            current_user._get_current_object(), Manager
        ):
            return redirect_to(url_for("manage.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(View, wrapped)
