"""Whatever goes wrong under /api, the answer is a problem detail, never an HTML page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cabinet.api import problems, views
from cabinet.inputs import MAX_CONTENT_LENGTH
from tests.api.conftest import Api, assert_problem


def test_an_unknown_address_is_a_404_problem(api: Api, client: FlaskClient) -> None:
    body = assert_problem(api.get("/api/v1/nothing-here"), 404, "not-found")
    assert "/api/v1/nothing-here" in body["detail"]
    assert_problem(client.get("/api/v2/clients/1"), 404, "not-found")  # even without a token
    assert client.get("/no-such-page").mimetype == "text/html"  # the cabinet keeps its pages


def test_a_wrong_method_is_a_405_problem_with_allow(api: Api) -> None:
    response = api.client.delete("/api/v1/clients/1", headers=api.headers)
    body = assert_problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "PUT"}
    assert "DELETE" in body["detail"]


def test_bad_path_ids_are_400(api: Api) -> None:
    for raw in ("abc", "0", "-1", "2147483648", "99999999999999999999"):
        body = assert_problem(api.get(f"/api/v1/clients/{raw}/discount"), 400, "invalid-parameters")
        assert body["errors"] == [{"parameter": "id", "detail": "целое число от 1 до 2147483647"}]


def test_an_unexpected_failure_is_a_500_problem(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(after: int, limit: int) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(views, "feed", broken)
    body = assert_problem(api.get("/api/v1/events"), 500, "internal-error")
    assert "boom" not in body["detail"]


def test_no_csrf_token_is_needed_with_a_bearer_token(api: Api) -> None:
    """The cabinet's forms need a CSRF token; the API (no cookies) is exempt."""
    response = api.put("/api/v1/clients/5", {"name": "Без CSRF", "registered_at": "2023-03-20"})
    assert response.status_code == 201, response.get_json()


def test_a_body_over_the_limit_is_a_413_http_error_problem(api: Api) -> None:
    response = api.client.put(
        "/api/v1/clients/5",
        data='{"name": "' + "я" * MAX_CONTENT_LENGTH + '"}',
        headers={**api.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "http-error")


def test_the_error_table_of_the_docs_lists_every_problem_type() -> None:
    table = Path(__file__).parents[2].joinpath("docs/api.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| \S+ \| `([a-z-]+)` \|", table, flags=re.MULTILINE))
    assert listed == {kind.slug for kind in problems.KINDS}
