"""Fuzzing the feed's parameters with Hypothesis: whatever arrives, the answer is a page or a
400 naming the bad parameters, in JSON, open to any origin, never a 500."""

from __future__ import annotations

from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services.openreferral import ids, params
from tests.openreferral.schemas import errors as schema_errors

SYNTAX = ["AND", "OR", "NOT", "(", ")", '"', "*", "~", "^", ":", "?", "[", "]", "\\", "-", "+", "/", "title:"]
WORDS = ["home", "care", "meals", "dementia", "weekend", "café", "日本", "😀"]
numbers = st.one_of(
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["", " ", "1e3", "0x10", "٣", "+5", "00", "１０"]),
    st.text(max_size=8),
)
moments = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-06-01",
            "yesterday",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59-14:00",
            "2026-13-01",
            "",
            "T",
            "2026-06-01 09:00 01:00",
        ]
    ),
    st.text(max_size=30),
)
terms = st.one_of(
    st.sampled_from([ids.taxonomy_term("home-care"), ids.taxonomy_term("cqc-overall-rating:good"), ids.taxonomy(""), "", "nope"]),
    st.uuids().map(str),
    st.text(max_size=40),
)
values = {
    "search": st.one_of(
        st.lists(st.one_of(st.sampled_from(SYNTAX), st.sampled_from(WORDS), st.text(max_size=10)), max_size=20).map(" ".join),
        st.text(max_size=250),
    ),
    "page": numbers,
    "per_page": numbers,
    "taxonomy_term_id": terms,
    "day": st.one_of(st.sampled_from(["MO", "sa,su", "monday", "", "Funday", "MO,,TU"]), st.text(max_size=10)),
    "modified_after": moments,
    "postcode": st.one_of(st.sampled_from(["PE1 1XX", "pe91xx", "PE1", "ZZ9 9ZZ", "", " PE2  1XX "]), st.text(max_size=12)),
    "proximity": numbers,
}
param_sets = st.fixed_dictionaries({}, optional=dict(values.items()))
SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@SETTINGS
@given(query=param_sets)
def test_the_lists_never_answer_a_server_error(client, market, query):
    for path, schema in (
        ("/openreferral/service_at_locations", "page_of_service_at_location_list"),
        ("/openreferral/services", "page_of_service_list"),
    ):
        response = client.get(path, query_string=query)  # NUL characters included: named as bad
        assert response.status_code in (200, 400), (path, query, response.status_code, response.get_data(as_text=True)[:500])
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        if response.status_code == 400:
            fields = response.json["error"]["fields"]
            assert fields and set(fields) <= set(params.PARAMETERS) and all(fields.values())
        else:
            assert schema_errors(response.json, schema) == []


@SETTINGS
@given(text=st.text(max_size=60))
def test_any_service_id_is_a_service_or_a_404(client, market, text):
    response = client.get("/openreferral/services/" + quote(text, safe=""))
    assert response.status_code in (200, 404, 308), (text, response.status_code)
    assert response.headers["Access-Control-Allow-Origin"] == "*"
