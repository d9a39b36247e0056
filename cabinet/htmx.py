"""The only module that knows htmx: full page or fragment, from the same template blocks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, make_response, redirect, render_template
from htmx_flask import Htmx, request
from htmx_flask.constants import HX_FALSE, HX_TRUE
from jinja2_fragments.flask import render_block
from werkzeug.wrappers import Response as BaseResponse

htmx = Htmx()


def init_app(app: Flask) -> None:
    htmx.init_app(app)


def is_htmx() -> bool:
    """The request came from htmx (a swap or a history restore)."""
    return bool(request.htmx)


def wants_fragment() -> bool:
    """An htmx swap, not a history restore (a pushed URL always gets the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def asked_in(environ: Mapping[str, Any]) -> tuple[bool, bool]:
    """(`is_htmx`, `wants_fragment`) of a request not yet in Flask's hands (its WSGI environ),
    by htmx-flask's own reading of its boolean headers (`HtmxHeaders._get_boolean_header`)."""
    asked = environ.get("HTTP_HX_REQUEST", HX_FALSE).lower() == HX_TRUE
    restore = environ.get("HTTP_HX_HISTORY_RESTORE_REQUEST", HX_FALSE).lower() == HX_TRUE
    return asked, asked and not restore


def render(template: str, block: str, status: int = 200, **context: Any) -> Response:
    """The full page for a normal request; only `block` of the same template for htmx."""
    if wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    return fragment_response(body, status)


def fragment_response(body: str, status: int = 200) -> Response:
    """A response whose body depends on whether htmx asked (caches keep both apart)."""
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Fire `event` on the page once htmx has swapped this response in."""
    response.headers["HX-Trigger"] = json.dumps({event: detail})
    return response


def retarget(response: Response, selector: str, swap: str = "outerHTML") -> Response:
    """Send an htmx swap somewhere other than where the request pointed (a form's errors)."""
    if wants_fragment():
        response.headers["HX-Retarget"] = selector
        response.headers["HX-Reswap"] = swap
    return response


def redirect_to(location: str) -> BaseResponse:
    """A redirect that also works for htmx, which does not follow a 302 into a full page: a 401
    with HX-Redirect sends the whole browser there."""
    if request.htmx:
        response = Response(status=401)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location)
