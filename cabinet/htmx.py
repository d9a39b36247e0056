"""The only module that knows htmx: full page or fragment, from the same template blocks."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, make_response, render_template
from htmx_flask import Htmx, request
from jinja2_fragments.flask import render_block

htmx = Htmx()


def init_app(app: Flask) -> None:
    htmx.init_app(app)


def wants_fragment() -> bool:
    """An htmx swap, not a history restore (a pushed URL always gets the full page)."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def render(template: str, block: str, status: int = 200, **context: Any) -> Response:
    """The full page for a normal request; only `block` of the same template for htmx."""
    if wants_fragment():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response


def retarget(response: Response, selector: str, swap: str = "outerHTML") -> Response:
    """Send an htmx swap somewhere other than where the request pointed (a form's errors)."""
    if wants_fragment():
        response.headers["HX-Retarget"] = selector
        response.headers["HX-Reswap"] = swap
    return response


def redirect_for_htmx(response: Response, location: str) -> Response:
    """htmx does not follow a 302 into a full page; it needs HX-Redirect."""
    if request.htmx:
        response.headers["HX-Redirect"] = location
    return response
