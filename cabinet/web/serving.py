"""How the cabinet meets the network: static files, compression, the proxy in front.

Static files are served by WhiteNoise before Flask sees the request, so they never load a
session, never set a cookie and never vary on one. Each file is copied once under a name that
carries a hash of its content (`cabinet.3f2a9c1b7d0e.css`) with gzip and brotli copies beside
it; `url_for('static', filename='cabinet.css')` yields the hashed name, so a browser may keep
a file for a year and never ask again: a changed file is a new URL. Older hashed copies stay
servable, so a page rendered by a worker of the previous release still finds its files.

HTML, JSON and other text responses are compressed on the way out by Flask-Compress (brotli for
browsers that ask for it, gzip otherwise); static files never reach it.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask
from flask_compress import Compress
from werkzeug.middleware.proxy_fix import ProxyFix
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

# `name.<12 hex>.ext`: the names this module gives; only these are immutable.
HASHED_NAME = re.compile(r"\.[0-9a-f]{12}(\.[A-Za-z0-9]+)?$")
ONE_YEAR = 365 * 24 * 60 * 60
# Unhashed URLs (an old bookmark, a hand-typed path) are still served, briefly cached.
UNHASHED_MAX_AGE = 60

compress = Compress()


class CabinetStatic(WhiteNoise):  # type: ignore[misc]
    # A year is the longest lifetime caches are asked to honour (RFC 9111, 5.2.2.1).
    FOREVER = ONE_YEAR

    def immutable_file_test(self, path: str, url: str) -> bool:
        return HASHED_NAME.search(url) is not None


def init_app(app: Flask) -> None:
    """Static files with hashed names, compressed responses, and X-Forwarded-* when a proxy
    we trust sits in front (TRUSTED_PROXIES)."""
    static_folder = Path(app.static_folder or "")
    build_dir = Path(app.config["STATIC_BUILD_DIR"])
    manifest = build_static(static_folder, build_dir)

    @app.url_defaults
    def _hashed_static_name(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static":
            filename = values.get("filename")
            if filename in manifest:
                values["filename"] = manifest[filename]

    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    # A page is compressed on every view: brotli 1 makes the member's 11 KB page 3.7 KB in
    # ≈75 µs, brotli 2 3.4 KB in 110–195 µs (its larger hash tables, set up on every call,
    # cost more than the 0.3 KB they save), brotli 4 3.1 KB in ≈150 µs; gzip 6 for the rest.
    app.config.setdefault("COMPRESS_BR_LEVEL", 1)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    # Pages carry no ETag (each is the signed-in client's own): nothing to compare.
    app.config.setdefault("COMPRESS_EVALUATE_CONDITIONAL_REQUEST", False)
    compress.init_app(app)

    static = CabinetStatic(app.wsgi_app, max_age=UNHASHED_MAX_AGE)
    static.add_files(str(build_dir), prefix="static/")
    static.add_files(str(static_folder), prefix="static/")
    wsgi: Any = static
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        wsgi = ProxyFix(wsgi, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)
    app.wsgi_app = wsgi  # type: ignore[method-assign]


def build_static(source: Path, target: Path) -> dict[str, str]:
    """Copy every file of `source` into `target` under a content-hashed name, with gzip and
    brotli copies; returns {original name: hashed name}. A file already built is kept, so a
    restart costs only the hashing. Files appear atomically: several workers may build at once.
    """
    manifest: dict[str, str] = {}
    target.mkdir(parents=True, exist_ok=True)
    compressor = Compressor(quiet=True)
    pending: list[tuple[Path, str]] = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        name = path.relative_to(source).as_posix()
        hashed = hashed_name(name, path.read_bytes())
        manifest[name] = hashed
        if not (target / hashed).exists():
            pending.append((path, hashed))
    if pending:
        # Built beside the target, not in it: a worker scanning the target never meets it.
        scratch_parent = target.parent
        with tempfile.TemporaryDirectory(dir=scratch_parent, prefix=f".{target.name}-") as scratch:
            for path, hashed in pending:
                built = Path(scratch) / hashed
                built.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, built)
                made = [built]
                if compressor.should_compress(built.name):
                    made = [Path(f) for f in compressor.compress(str(built))] + made
                for file in made:  # the compressed copies first, the file itself last
                    final = target / file.relative_to(scratch)
                    final.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(file, final)
    return manifest


def hashed_name(name: str, content: bytes) -> str:
    """`vendor/htmx-2.0.11.min.js` → `vendor/htmx-2.0.11.min.<hash>.js`."""
    digest = hashlib.sha256(content).hexdigest()[:12]
    stem, dot, extension = name.rpartition(".")
    if not dot or "/" in extension:
        return f"{name}.{digest}"
    return f"{stem}.{digest}.{extension}"
