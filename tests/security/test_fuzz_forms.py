"""Property-based fuzzing of every form: whatever text hypothesis makes up (control
characters, surrogates, any script, any length), the answer is never a 5xx and a refusal
changes nothing. The API is fuzzed from its OpenAPI document by schemathesis
(tests/api/test_openapi.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.figures import FIGURES
from tests.security.world import ROUTES, Actor, build_world, digest

FORMS = sorted(key for key, route in ROUTES.items() if route.form)
ANY_TEXT = st.one_of(
    st.text(st.characters(exclude_categories=[]), max_size=80),  # surrogates included
    st.text(max_size=600),
    st.sampled_from(["", " ", "5e83e12b1", "c501@example.ru", "+79101234567", "day", "sms"]),
)


@pytest.mark.parametrize("endpoint, method", FORMS, ids=[e for e, _ in FORMS])
def test_forms_hold_against_any_text(
    app: Flask, database: None, endpoint: str, method: str
) -> None:
    world = build_world(app)
    route = ROUTES[(endpoint, method)]
    actor = Actor(app, route.owner, world)  # type: ignore[arg-type]

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(values=st.fixed_dictionaries({name: ANY_TEXT for name in route.form}))
    def post(values: dict[str, str]) -> None:
        before = digest(app)
        response = actor.send(app, endpoint, route, form=list(values.items()))
        FIGURES["fuzz"]["requests"] += 1
        FIGURES["fuzz"]["server_errors"] += response.status_code >= 500
        assert response.status_code < 500, (values, response.status_code)
        if 400 <= response.status_code < 500:
            assert digest(app) == before, values
        elif route.changes_data:
            actor.sign_in()

    post()
