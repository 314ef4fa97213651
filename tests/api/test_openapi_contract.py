"""The API does what its OpenAPI description says: a bounded schemathesis run generates
requests from the description and checks each answer against it (a documented status and
content type, a body matching its schema, never a 5xx), and every request the description
calls valid is answered with results.

Requests the description calls invalid may still be answered with results: the API, like
the search page, reads loosely what people type (any case, spaces, "1,000"), so that
check of schemathesis is left out. (Schemathesis's own pytest plugin does not run under
this pytest, so Hypothesis draws its cases directly.)"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

from app.services import search

LOOSE_READING = {"negative_data_rejection", "positive_data_acceptance"}


@pytest.fixture
def api_operations(app, make_district, make_service, make_lot, make_membership, make_provider):
    make_district("PE1")
    lot = make_lot("home-care")
    provider = make_provider()
    make_membership(lot, provider)
    for n in range(25):
        make_service(provider=provider, title=f"Home care visits {n}", description="Dementia care, carers and PA support.")
    search.rebuild()
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert "GET /api/v1/services" in [op.label for op in operations]
    return operations


def _checks():
    return [check for check in CHECKS.get_all() if check.__name__ not in LOOSE_READING]


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_the_api_answers_as_its_openapi_description_says(api_operations, data):
    for operation in api_operations:
        valid = data.draw(st.booleans(), label="valid")
        mode = GenerationMode.POSITIVE if valid else GenerationMode.NEGATIVE
        case = data.draw(operation.as_strategy(generation_mode=mode), label="case")
        response = case.call()
        case.validate_response(response, checks=_checks())
        query = case.query or {}
        # The one rule a description of separate parameters cannot say: distance needs a postcode.
        distance_without_postcode = query.get("sort") == "distance" and not query.get("postcode")
        if valid and not distance_without_postcode:
            assert response.status_code == 200, (case.as_curl_command(), response.text[:300])
