"""Serving: hashed immutable static files, compressed pages, health checks, the proxy's headers."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Callable
from pathlib import Path

import brotli
from flask import Flask, request
from flask.testing import FlaskClient

from cabinet.web.serving import ONE_YEAR, build_static, hashed_name
from tests.web.conftest import Auth, web_client

ASSET = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def _assets(html: str) -> list[str]:
    return ASSET.findall(html)


def test_pages_link_static_files_by_content_hashed_names(client: FlaskClient) -> None:
    assets = _assets(client.get("/login").text)
    names = [url.rsplit("/", 1)[1] for url in assets]
    assert any(re.fullmatch(r"cabinet\.[0-9a-f]{12}\.css", n) for n in names), names
    assert any(re.fullmatch(r"htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js", n) for n in names), names
    assert all(re.search(r"\.[0-9a-f]{12}\.\w+$", n) for n in names), names


def test_hashed_static_files_are_immutable_for_a_year(client: FlaskClient) -> None:
    for url in _assets(client.get("/login").text):
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert response.headers["Cache-Control"] == f"max-age={ONE_YEAR}, public, immutable"


def test_static_files_are_served_precompressed(client: FlaskClient) -> None:
    css = next(u for u in _assets(client.get("/login").text) if u.endswith(".css"))
    with client.get(css) as plain:
        original = plain.get_data()
    with client.get(css, headers={"Accept-Encoding": "gzip"}) as zipped:
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in zipped.headers["Vary"]
        assert gzip.decompress(zipped.get_data()) == original
    with client.get(css, headers={"Accept-Encoding": "gzip, br"}) as squeezed:
        assert squeezed.headers["Content-Encoding"] == "br"
        assert brotli.decompress(squeezed.get_data()) == original


def test_static_responses_set_no_cookie_and_do_not_vary_on_one(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 409))
    page = client.get("/referral")
    assert "Set-Cookie" in page.headers or client.get_cookie("cabinet_session") is not None
    for url in _assets(page.text):
        with client.get(url) as response:
            assert response.status_code == 200
            assert "Set-Cookie" not in response.headers, url
            assert "Cookie" not in response.headers.get("Vary", ""), url


def test_an_unhashed_static_url_still_works_briefly_cached(client: FlaskClient) -> None:
    with client.get("/static/cabinet.css") as response:
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "max-age=60, public"
        assert "Set-Cookie" not in response.headers


def test_pages_are_compressed_for_browsers_that_accept_it(
    app: Flask, client: FlaskClient, auth: Auth
) -> None:
    auth.login(web_client(app, 409))
    plain = client.get("/referral")
    assert "Content-Encoding" not in plain.headers
    zipped = client.get("/referral", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    html = gzip.decompress(zipped.get_data()).decode()
    assert "Реферальная программа" in html
    assert len(zipped.get_data()) < len(plain.get_data()) / 2
    squeezed = client.get("/referral", headers={"Accept-Encoding": "br, gzip"})
    assert squeezed.headers["Content-Encoding"] == "br"
    assert "Реферальная программа" in brotli.decompress(squeezed.get_data()).decode()


def test_health_checks(client: FlaskClient) -> None:
    live = client.get("/healthz")
    assert live.status_code == 200 and live.text == "ok\n"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.text == "ok\n"
    assert "Set-Cookie" not in ready.headers


def test_readiness_fails_without_the_database(
    make_app: Callable[..., Flask], tmp_path: Path
) -> None:
    broken = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}")
    with broken.test_client() as client:
        assert client.get("/healthz").status_code == 200  # alive, so not restarted
        ready = client.get("/readyz")
        assert ready.status_code == 503 and ready.text == "database unavailable\n"


def _echo_route(app: Flask) -> None:
    @app.get("/_where")
    def where() -> str:
        return f"{request.remote_addr} {request.scheme} {request.host}"


def test_forwarded_headers_are_trusted_only_from_a_configured_proxy(
    make_app: Callable[..., Flask],
) -> None:
    forwarded = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "lk.example.ru",
    }
    behind_proxy = make_app(TRUSTED_PROXIES=1)
    _echo_route(behind_proxy)
    answer = behind_proxy.test_client().get("/_where", headers=forwarded)
    assert answer.text == "203.0.113.7 https lk.example.ru"
    exposed = make_app(TRUSTED_PROXIES=0)
    _echo_route(exposed)
    assert exposed.test_client().get("/_where", headers=forwarded).text == (
        "127.0.0.1 http localhost"
    )


def test_hashed_names_follow_the_content(tmp_path: Path) -> None:
    source, target = tmp_path / "static", tmp_path / "build"
    (source / "vendor").mkdir(parents=True)
    (source / "site.css").write_text("body { color: black; }\n" * 50)
    (source / "vendor" / "lib.min.js").write_text("var a = 1;\n" * 50)
    first = build_static(source, target)
    assert first["site.css"] == hashed_name("site.css", (source / "site.css").read_bytes())
    assert first["vendor/lib.min.js"].startswith("vendor/lib.min.")
    assert (target / first["site.css"]).read_bytes() == (source / "site.css").read_bytes()
    assert (target / (first["site.css"] + ".gz")).exists()
    assert (target / (first["site.css"] + ".br")).exists()
    (source / "site.css").write_text("body { color: navy; }\n" * 50)
    second = build_static(source, target)
    assert second["site.css"] != first["site.css"]
    assert (target / first["site.css"]).exists()  # the previous release's pages still load
    assert second["vendor/lib.min.js"] == first["vendor/lib.min.js"]


def test_templates_get_the_addresses_url_for_builds(app: Flask) -> None:
    from flask import url_for

    from cabinet.web.urls import kept_url_for

    asked = [
        ("static", {"filename": "cabinet.css"}),
        ("referrals.show", {"tab": "clients"}),
        ("referrals.show", {"tab": "clients", "after": "x"}),
        ("referrals.show", {}),
        ("auth.logout", {}),
    ]
    with app.test_request_context("/referral", base_url="http://cabinet.example/lk"):
        for endpoint, values in asked * 2:  # the second round comes from the store
            assert kept_url_for(endpoint, **values) == url_for(endpoint, **values)
        assert kept_url_for("referrals.show", _external=True).startswith(
            "http://cabinet.example/lk/"
        )
        assert kept_url_for("referrals.show").startswith("/lk/")
    with app.test_request_context("/referral"):  # another script root: another address
        assert kept_url_for("referrals.show") == "/referral"
    with app.test_request_context("/manage/clients"):
        assert kept_url_for(".dashboard") == url_for("manage.dashboard")
    with app.test_request_context("/referral"):
        assert kept_url_for(".join") == url_for("referrals.join")


def test_htmx_injects_no_inline_style_the_csp_would_refuse(client: FlaskClient) -> None:
    """htmx would add a <style> for its indicators on load; the CSP (style-src 'self') refuses
    it and the console reports it. The page tells htmx not to, and cabinet.css has the rules."""
    html = client.get("/login").get_data(as_text=True)
    meta = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", html)
    assert meta is not None
    assert json.loads(meta.group(1))["includeIndicatorStyles"] is False
    css = (Path(__file__).resolve().parents[2] / "static" / "cabinet.css").read_text("utf-8")
    assert ".htmx-indicator {" in css and ".htmx-request .htmx-indicator" in css
