"""The live server the browser tests use: a browser hanging up leaves nothing open."""

from __future__ import annotations

import gc
import socket
import struct
import warnings

from flask import Flask

from tests.servers import serving

HANG_UPS = 100


def test_a_browser_hanging_up_mid_response_leaves_no_file_open(app: Flask) -> None:
    """Chromium cancels requests (the favicon on a navigation, everything on context close).
    werkzeug's own handler then sometimes skips closing the response, and the open static
    file surfaced later as a ResourceWarning in an unrelated test."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        with serving(app) as url:
            port = int(url.rsplit(":", 1)[1])
            for _ in range(HANG_UPS):
                with socket.create_connection(("127.0.0.1", port), timeout=5) as browser:
                    browser.sendall(b"GET /static/favicon.svg HTTP/1.1\r\nHost: t\r\n\r\n")
                    browser.recv(1)  # the response has started
                    # Hang up with a reset, as a cancelled request does.
                    browser.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
