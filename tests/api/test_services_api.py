"""GET /api/v1/services: the same search as the page, as JSON, held to its OpenAPI document."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import CQCRating, PeopleGroup, SearchLog, Service
from app.services import people_supported, search
from app.services.search import API_PARAMETERS
from tests.api.schema import errors as schema_errors
from tests.helpers import page


@pytest.fixture
def market(app, make_district, make_provider, make_service, make_lot, make_membership):
    make_district("PE1", 52.5880, -0.2290, "Peterborough")
    make_district("PE2", 52.5560, -0.2590, "Peterborough")
    search.rebuild()
    lot = make_lot("home-care", name="Home care")
    providers = [
        make_provider(base_district=d, areas=[d], rating=r)
        for d, r in (("PE1", CQCRating.GOOD), ("PE2", CQCRating.OUTSTANDING), ("PE1", None))
    ]
    for p in providers[:2]:
        make_membership(lot, p)
    for n in range(30):
        make_service(
            provider=providers[n % 3],
            title=f"Home care {n:02d}",
            price_pence=1800 + 37 * n,
            hours=[(d, "08:00", "18:00") for d in range(n % 7 + 1)],
        )
    make_service(title="Hot meals delivered", category="meals", price_unit="item", price_pence=500)


def openapi(client) -> dict:
    return client.get("/api/v1/openapi.json").json


def test_results_facets_and_totals_match_the_published_schema(client, market):
    response = client.get("/api/v1/services?q=home+care&postcode=PE1+1XX&radius_miles=5&day=monday")
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    document = openapi(client)
    schema = document["paths"]["/api/v1/services"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema_errors(body, schema, document) == []
    assert body["total"] == 30 and body["pages"] == 2 and len(body["results"]) == 20
    first = body["results"][0]
    assert first["framework"]["sentence"].startswith("Ranked 1st of 20 on the Home care framework")
    assert first["unit"] == "hour" and isinstance(first["price_pence"], int)
    assert body["location"] == {"postcode_district": "PE1", "town": "Peterborough"}
    assert {f["value"]: f["count"] for f in body["facets"]["category"]}["meals"] == 0
    assert body["query"] == {"q": "home care", "postcode": "PE1 1XX", "radius_miles": "5", "day": ["monday"]}


@pytest.mark.parametrize(
    "query",
    [
        "q=home+care",
        "q=home&sort=price",
        "sort=rating",
        "postcode=PE1+1XX&radius_miles=3&sort=distance",
        "min_cqc_rating=good&framework_only=true",
        "day=saturday&day=sunday&max_price_pence=2500",
        "q=demenita",
        "",
    ],
)
def test_same_results_in_the_same_order_as_the_page(client, market, query):
    """Every page of results, with the same totals: the page takes the API's parameters."""
    first = client.get(f"/api/v1/services?{query}").json
    pages = first["pages"]
    for number in range(1, pages + 1):
        api = client.get(f"/api/v1/services?{query}&page={number}").json
        response = client.get(f"/search?{query}&page={number}")
        assert response.status_code == 200
        html = page(response)
        page_ids = [int(a["href"].rsplit("/", 1)[1]) for a in html.select(".app-result h3 a")]
        assert [r["id"] for r in api["results"]] == page_ids, number
        status = html.select_one("[role=status]").get_text(" ", strip=True)
        found = re.match(r"(No|[\d,]+) services? found", status)
        assert found, status
        assert api["total"] == (0 if found.group(1) == "No" else int(found.group(1).replace(",", "")))
        assert api["pages"] == pages and api["page"] == number
    if query == "":
        assert first["total"] == 31 and pages == 2


def test_a_page_past_the_last_is_empty_with_the_total(client, market):
    body = client.get("/api/v1/services?q=home+care&page=3").json
    assert body["results"] == [] and body["total"] == 30 and body["pages"] == 2 and body["page"] == 3
    operation = openapi(client)["paths"]["/api/v1/services"]["get"]
    page_parameter = next(p for p in operation["parameters"] if p["name"] == "page")
    assert "past the last" in page_parameter["description"] and "empty" in page_parameter["description"]


def test_every_bad_field_is_named_in_one_answer(client, market):
    response = client.get("/api/v1/services?postcode=ZZ9+9ZZ&category=no-such&sort=distance&radius_miles=0")
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {
        "postcode": "We could not find that postcode",
        "category": "Choose a type of support from the list",
        "radius_miles": "Distance must be a whole number of miles between 1 and 100",
    }
    # A distance sort with no postcode at all is named beside the other errors.
    fields = client.get("/api/v1/services?sort=distance&category=no-such&page=0").json["error"]["fields"]
    assert fields == {
        "sort": "Enter a postcode to sort by distance",
        "category": "Choose a type of support from the list",
        "page": "Page must be a whole number between 1 and 10,000",
    }


def test_every_bad_parameter_is_named_with_its_message(client, market):
    response = client.get(
        "/api/v1/services?postcode=nope&radius_miles=0&max_price_pence=12.5&min_cqc_rating=great&min_review_rating=5&funding=cash"
        "&day=funday&framework_only=maybe&sort=random&page=0&category=Bad%20Slug&supports=nonsense&q=" + "x" * 201
    )
    assert response.status_code == 400
    body = response.json
    document = openapi(client)
    schema = document["paths"]["/api/v1/services"]["get"]["responses"]["400"]["content"]["application/json"]["schema"]
    assert schema_errors(body, schema, document) == []
    assert set(body["error"]["fields"]) == set(API_PARAMETERS)
    assert body["error"]["fields"]["postcode"] == "Enter a full UK postcode, like PE1 1XX"
    assert body["error"]["fields"]["supports"] == "Choose who the service supports from the list"
    unknown = client.get("/api/v1/services?postcode=ZZ9+9ZZ").json
    assert unknown["error"]["fields"] == {"postcode": "We could not find that postcode"}
    assert client.get("/api/v1/services?sort=distance").json["error"]["fields"] == {"sort": "Enter a postcode to sort by distance"}
    assert client.get("/api/v1/services?category=no-such-thing").json["error"]["fields"] == {
        "category": "Choose a type of support from the list"
    }


def test_the_api_filters_by_who_a_service_supports_and_says_who_each_result_supports(client, market):
    service = db.session.execute(select(Service).where(Service.title == "Home care 03")).scalar_one()
    people_supported.declare(service, [PeopleGroup.DEMENTIA, PeopleGroup.OLDER_PEOPLE])
    db.session.commit()
    response = client.get("/api/v1/services?supports=dementia")
    assert response.status_code == 200
    body = response.json
    document = openapi(client)
    schema = document["paths"]["/api/v1/services"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema_errors(body, schema, document) == []
    assert [r["title"] for r in body["results"]] == ["Home care 03"]
    assert body["results"][0]["supports"] == ["older_people", "dementia"]
    assert body["query"] == {"supports": "dementia"}
    facet = {f["value"]: f for f in body["facets"]["supports"]}
    assert facet["dementia"]["count"] == 1 and facet["dementia"]["selected"] and facet["dementia"]["label"] == "People living with dementia"
    assert facet["older_people"]["count"] == 1 and facet["autism"]["count"] == 0
    assert client.get("/api/v1/services?q=alzheimers").json["results"][0]["title"] == "Home care 03"
    log = db.session.execute(select(SearchLog).where(SearchLog.supports.is_not(None))).scalar_one()
    assert log.supports is PeopleGroup.DEMENTIA


def test_the_openapi_document_describes_every_parameter_the_endpoint_takes(client):
    document = openapi(client)
    assert document["openapi"].startswith("3.1")
    operation = document["paths"]["/api/v1/services"]["get"]
    assert sorted(p["name"] for p in operation["parameters"]) == sorted(API_PARAMETERS)
    for parameter in operation["parameters"]:
        assert parameter["in"] == "query" and parameter["description"] and parameter["schema"]
    assert {"200", "400", "503"} <= set(operation["responses"])


def test_api_searches_are_logged_as_api(client, market):
    client.get("/api/v1/services?q=meals&postcode=PE2+6AB")
    log = db.session.execute(select(SearchLog)).scalar_one()
    assert log.channel.value == "api" and log.postcode_district == "PE2" and log.words == "meals" and log.result_count == 1


def test_without_an_index_the_api_answers_503_in_json(client):
    response = client.get("/api/v1/services")
    assert response.status_code == 503
    assert response.json["error"]["title"] == "Search unavailable"
