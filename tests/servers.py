"""Real HTTP servers for tests, each in a thread for as long as a `with` block runs."""

from __future__ import annotations

import logging
import socketserver
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

# How long `shutdown()` may wait for `serve_forever` to notice (the stdlib's default is 0.5 s,
# paid at every teardown).
POLL_SECONDS = 0.02

_RESPONSE = "tests.response"
log = logging.getLogger("tests.live_server")


@contextmanager
def running(server: socketserver.BaseServer) -> Iterator[None]:
    """`server` answers in a thread; stopped and its socket closed when the block ends."""
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": POLL_SECONDS}, daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


class _ClosedOnce:
    """A response body whose close() runs once, whoever calls it first."""

    def __init__(self, body: Iterable[bytes]) -> None:
        self.body = body
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            close = getattr(self.body, "close", None)
            if close is not None:
                close()


class _Handler(WSGIRequestHandler):
    """werkzeug's handler with two differences for tests.

    Every response body is closed. When a browser hangs up (a navigation cancels the favicon,
    a context closes), werkzeug can meet the reset while draining the request and skip
    close(), leaving e.g. `static/favicon.svg` open; the ResourceWarning, an error under
    `filterwarnings = error`, then failed whichever test was running.

    Its log goes to the `tests.live_server` logger (shown by pytest with a failing test), not
    to a stream handler werkzeug would bind to whatever stderr the first request found.
    """

    def run_wsgi(self) -> None:
        try:
            super().run_wsgi()
        finally:
            body = getattr(self, "environ", {}).get(_RESPONSE)
            if body is not None:
                body.close()

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        level = logging.ERROR if type == "error" else logging.DEBUG
        log.log(level, "%s " + message.rstrip("\n"), self.address_string(), *args)


def _recording(app: Flask) -> Any:
    def wsgi(environ: dict[str, Any], start_response: Any) -> _ClosedOnce:
        body = _ClosedOnce(app(environ, start_response))
        environ[_RESPONSE] = body
        return body

    return wsgi


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """`app` on a free loopback port, in threads, for as long as the block runs."""
    server = make_server("127.0.0.1", 0, _recording(app), threaded=True, request_handler=_Handler)
    with running(server):
        yield f"http://127.0.0.1:{server.server_port}"
