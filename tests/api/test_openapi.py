"""The OpenAPI document is served, lists exactly the blueprint's routes, and schemathesis
finds no 500 and no response that breaks it (run in-process through the WSGI app)."""

from __future__ import annotations

import base64
import re

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from cabinet.api import openapi, tokens
from cabinet.clock import Context
from tests.factories import seed_worked_example


def test_the_document_is_openapi_3_1_and_matches_the_routes(
    app: Flask, client: FlaskClient
) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    documented = {
        (method.upper(), "/api/v1" + path)
        for path, item in doc["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = {
        (method, re.sub(r"<(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert documented == routed


# Built from the same function that serves it, so the test runs collect one case per operation.
schema = schemathesis.openapi.from_dict(openapi.document())
FIXED_BYTES = b"\x07" * 32  # the token the fixture issues, known before it exists


@schema.auth()
class BearerToken:
    """Schemathesis adds the token itself, so it knows which requests go without one."""

    def get(self, case: schemathesis.Case, context: object) -> str:
        return "cab_" + base64.urlsafe_b64encode(FIXED_BYTES).rstrip(b"=").decode()

    def set(self, case: schemathesis.Case, data: str, context: object) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@pytest.fixture
def seeded(app: Flask, database: None, context: Context) -> None:
    """The worked example in the database (so some ids exist) and the token."""
    fixed = Context(context.clock, context.timezone, lambda n: FIXED_BYTES[:n])
    with app.app_context():
        seed_worked_example(context)
        tokens.issue(fixed, "schemathesis")


@schema.parametrize()
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_keeps_its_openapi_promises(
    case: schemathesis.Case, app: Flask, seeded: None
) -> None:
    # Every other check runs. Schema-valid data may still be refused with 422: a calendar date
    # that does not exist (2023-02-30), a promo period ending before the registration, an
    # e-mail address that is not one: rules JSON Schema cannot state.
    case.operation.schema.app = app  # in-process: every request (and probe) goes to the app
    # In-process calls hand back the body as sent: ask for it uncompressed (an HTTP client
    # would decode gzip or brotli itself).
    case.call_and_validate(
        app=app,
        headers={"Accept-Encoding": "identity"},
        excluded_checks=[positive_data_acceptance],
    )
