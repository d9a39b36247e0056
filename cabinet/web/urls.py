"""`url_for` for the templates, worked out once per address.

A page builds the same few addresses on every view (the static files, the menu, the tabs, the
forms): Werkzeug's URL building costs ≈15 µs each, a tenth of a tab's own work for eleven
links. The address of a relative path depends only on the app, its script root, the endpoint
(with the blueprint, for `.name`) and the values, so each is built once and kept. Absolute
addresses (`_external`, `_scheme`) and anchors are built every time; the store is bounded.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, url_for

KEPT_AT_MOST = 2048
_BUILT_EVERY_TIME = frozenset({"_external", "_scheme", "_anchor", "_method"})


def kept_url_for(endpoint: str, **values: Any) -> str:
    if _BUILT_EVERY_TIME.intersection(values) or not all(
        isinstance(v, str | int) for v in values.values()
    ):
        return url_for(endpoint, **values)
    blueprint = request.blueprint if endpoint.startswith(".") else None
    key = (request.script_root, blueprint, endpoint, tuple(sorted(values.items())))
    kept: dict[Any, str] = current_app.extensions["kept_urls"]
    address = kept.get(key)
    if address is None:
        address = url_for(endpoint, **values)
        if len(kept) >= KEPT_AT_MOST:
            kept.clear()
        kept[key] = address
    return address


def init_app(app: Flask) -> None:
    app.extensions["kept_urls"] = {}
    app.jinja_env.globals["url_for"] = kept_url_for
