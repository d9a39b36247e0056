"""Who may open what: the cabinet's pages are for clients, /manage for managers; never both."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import redirect, request, url_for
from flask_login import current_user

from cabinet.auth.models import Manager
from cabinet.clients.models import Client
from cabinet.extensions import login_manager
from cabinet.htmx import redirect_to

View = TypeVar("View", bound=Callable[..., Any])


def client_required(view: View) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not isinstance(current_user._get_current_object(), Client):
            return redirect(url_for("manage.dashboard"))  # a manager has no client pages
        return view(*args, **kwargs)

    return cast(View, wrapped)


def manager_required(view: View) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated or not isinstance(
            current_user._get_current_object(), Manager
        ):
            return redirect_to(url_for("manage.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(View, wrapped)
