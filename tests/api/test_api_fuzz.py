"""Fuzzing the API's parameters with Hypothesis: whatever arrives, the answer is a page of
results or a 400 naming the bad fields, in JSON, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import search
from app.services.search import API_PARAMETERS

SYNTAX = ["AND", "OR", "NOT", "(", ")", '"', "*", "~", "^", ":", "?", "[", "]", "{", "}", "\\", "-", "+", "/"]
WORDS = ["home", "care", "carers", "PA", "respite", "sitting", "domiciliary", "dementia", "demenita", "meals", "café", "日本", "😀"]

text_pieces = st.one_of(st.sampled_from(SYNTAX), st.sampled_from(WORDS), st.text(min_size=0, max_size=12))
query_text = st.one_of(
    st.lists(text_pieces, max_size=30).map(" ".join),
    st.text(max_size=300),
    st.integers(min_value=190, max_value=10_000).map(lambda n: "a" * n),
)
numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1e3", "0x10", "٣", "+5", "00", "１０"]),
    st.text(max_size=8),
)
values = {
    "q": query_text,
    "category": st.one_of(st.sampled_from(["home-care", "meals", "", "Home Care", "../etc", "a" * 80]), st.text(max_size=20)),
    "postcode": st.one_of(st.sampled_from(["PE1 1XX", "pe11xx", "PE1", "ZZ9 9ZZ", "SW1A 1AA", "", "PE1  1XX "]), st.text(max_size=12)),
    "radius_miles": numbers,
    "max_price_pence": numbers,
    "min_cqc_rating": st.one_of(
        st.sampled_from(["outstanding", "good", "requires_improvement", "inadequate", "GOOD", ""]), st.text(max_size=10)
    ),
    "funding": st.one_of(st.sampled_from(["personal_budget", "prepaid_card", "self_funder", ""]), st.text(max_size=10)),
    "supports": st.one_of(st.sampled_from(["autism", "dementia", "OLDER_PEOPLE", "any", "", "autistic"]), st.text(max_size=10)),
    "day": st.one_of(st.sampled_from(["monday", "sat", "sunday,monday", "", "Funday"]), st.text(max_size=10)),
    "framework_only": st.one_of(st.sampled_from(["true", "false", "1", "0", "yes", "", "maybe"]), st.text(max_size=5)),
    "sort": st.one_of(st.sampled_from(["best_match", "price", "distance", "rating", ""]), st.text(max_size=10)),
    "page": numbers,
}
param_sets = st.fixed_dictionaries({}, optional=dict(values.items()))


@pytest.fixture
def fuzz_market(app, make_district, make_service, make_lot, make_membership, make_provider):
    make_district("PE1")
    search.rebuild()
    lot = make_lot("home-care")
    provider = make_provider()
    make_membership(lot, provider)
    for n in range(25):
        make_service(provider=provider, title=f"Home care visits {n}", description="Dementia care, carers and PA support.")
    return app


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(params=param_sets)
def test_api_parameters_never_cause_a_server_error(client, fuzz_market, params):
    response = client.get("/api/v1/services", query_string=params)  # NUL characters included: named as bad
    assert response.status_code in (200, 400), (params, response.status_code, response.get_data(as_text=True)[:500])
    body = response.json
    if response.status_code == 400:
        fields = body["error"]["fields"]
        assert fields and set(fields) <= set(API_PARAMETERS)
        assert all(isinstance(message, str) and message for message in fields.values())
    else:
        assert 0 <= len(body["results"]) <= 20
        assert body["total"] >= len(body["results"])
        assert body["page"] >= 1


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(params=param_sets)
def test_the_search_page_never_errors_on_the_same_input(client, fuzz_market, params):
    response = client.get("/search", query_string=params)  # NUL characters included
    # A page past the last is not found (with the search page still there to change it).
    assert (
        response.status_code == 200
        or (response.status_code == 404 and "There is no page" in response.get_data(as_text=True))
        or (response.status_code == 404 and "No services found" in response.get_data(as_text=True))
    ), (params, response.status_code)


def test_a_nul_character_is_refused_with_400_not_500(client, fuzz_market):
    response = client.get("/api/v1/services", query_string={"q": "care\x00", "category": "meals\x00", "page": "1\x00"})
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"q", "category", "page"}
