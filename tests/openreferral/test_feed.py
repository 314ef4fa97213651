"""GET /openreferral/...: the listed services as the Open Referral UK profile shapes them,
every answer held to the profile's schemas (tests/openreferral/schemas.py)."""

from __future__ import annotations

import math

import pytest

from app.extensions import db
from app.services import listings
from app.services.openreferral import ids
from tests.openreferral.schemas import errors as schema_errors

PAGED = {
    "/openreferral/services": "page_of_service_list",
    "/openreferral/service_at_locations": "page_of_service_at_location_list",
    "/openreferral/taxonomies": "page_of_taxonomy",
    "/openreferral/taxonomy_terms": "page_of_taxonomy_term",
}


def get_json(client, path: str, schema: str | None = None) -> dict:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == "application/json"
    if schema:
        assert schema_errors(response.json, schema) == [], path
    return response.json


def walk(client, path: str, schema: str, per_page: int) -> list[dict]:
    """Every page of a list, first to last, each checked against the profile."""
    join = "&" if "?" in path else "?"
    first = get_json(client, f"{path}{join}per_page={per_page}", schema)
    total, pages = first["total_items"], first["total_pages"]
    assert pages == math.ceil(total / per_page)
    found = []
    for number in range(1, pages + 1):
        body = get_json(client, f"{path}{join}per_page={per_page}&page={number}", schema)
        assert (body["page_number"], body["total_items"], body["total_pages"]) == (number, total, pages)
        assert body["first_page"] is (number == 1) and body["last_page"] is (number == pages)
        assert body["size"] == len(body["contents"]) == (per_page if number < pages else total - per_page * (pages - 1))
        assert body["empty"] is False
        found += body["contents"]
    assert len(found) == total
    return found


def test_the_api_details_name_the_version_profile_and_openapi_description(client, market):
    body = get_json(client, "/openreferral/", "api_details")
    assert body["version"] == "3.0"
    assert body["profile"] == "https://github.com/OpenReferralUK/uk-profile"
    assert body["openapi_url"].endswith("/openreferral/openapi.json")
    assert client.get("/openreferral/openapi.json").status_code == 200


def test_walking_every_page_of_services_finds_each_listed_service_once(client, market):
    found = walk(client, "/openreferral/services", "page_of_service_list", per_page=7)
    assert len({s["id"] for s in found}) == len(found) == len(market.listed)
    assert {s["id"] for s in found} == {ids.service(s.id) for s in market.listed}
    assert [s["name"] for s in found] == sorted(s["name"] for s in found)
    assert all(s["status"] == "active" for s in found)


def test_a_page_past_the_last_is_empty_and_says_how_many_there_are(client, market):
    body = get_json(client, "/openreferral/services?per_page=10&page=9", "page_of_service_list")
    assert body["contents"] == [] and body["empty"] is True and body["size"] == 0
    assert body["total_items"] == len(market.listed) and body["total_pages"] == 3
    assert body["last_page"] is True and body["first_page"] is False


@pytest.mark.parametrize("hidden", ["draft", "withdrawn", "pending provider", "suspended provider"])
def test_a_service_that_is_not_listed_never_appears_and_its_id_answers_404(client, market, hidden):
    service = market.hidden[hidden]
    everywhere = walk(client, "/openreferral/services", "page_of_service_list", 100)
    everywhere += walk(client, "/openreferral/service_at_locations", "page_of_service_at_location_list", 100)
    assert ids.service(service.id) not in {item.get("service_id", item["id"]) for item in everywhere}
    response = client.get(f"/openreferral/services/{ids.service(service.id)}")
    assert response.status_code == 404 and response.json["error"]["status"] == 404


def test_a_service_withdrawn_after_it_was_listed_answers_404(client, market, make_provider_staff):
    service = market.listed[0]
    assert client.get(f"/openreferral/services/{ids.service(service.id)}").status_code == 200
    listings.withdraw(make_provider_staff(provider=market.near), service)
    db.session.commit()
    assert client.get(f"/openreferral/services/{ids.service(service.id)}").status_code == 404
    assert ids.service(service.id) not in {s["id"] for s in walk(client, "/openreferral/services", "page_of_service_list", 100)}


# Fixed values (a random UUID would be collected differently by each pytest-xdist worker).
UNKNOWN_ID = "6f1c2a9e-4b7d-4e3a-9c5f-2d8b7a1e0c43"


@pytest.mark.parametrize("wrong", ["not-a-uuid", "1", UNKNOWN_ID, "%00", "a" * 300, "01CAC46B-C0C9-43D0-95C7-50132141"])
def test_an_unknown_or_malformed_service_id_answers_404_never_500(client, market, wrong):
    response = client.get(f"/openreferral/services/{wrong}")
    assert response.status_code == 404
    assert response.mimetype == "application/json"


def test_a_service_comes_fully_nested(client, market):
    service = market.listed[0]
    body = get_json(client, f"/openreferral/services/{ids.service(service.id)}", "service")
    assert body["id"] == ids.service(service.id) and body["name"] == service.title
    assert body["url"] == f"http://localhost/services/{service.id}"
    assert body["organization"]["id"] == body["organization_id"] == ids.organization(market.near.id)
    assert body["organization"]["website"] == "https://nene.example" and body["email"] == market.near.email
    assert [(s["byday"], s["opens_at"], s["closes_at"], s["freq"]) for s in body["schedules"]] == [
        (day, "08:00", "18:00", "WEEKLY") for day in ("MO", "TU", "WE", "TH", "FR")
    ]
    assert [a["name"] for a in body["service_areas"]] == ["PE1", "PE2"]
    assert body["cost_options"] == [
        {
            "id": ids.of("cost_option", service.id),
            "service_id": body["id"],
            "amount": 18.0,
            "currency": "GBP",
            "amount_description": "per hour",
            "option": "Ways to pay: personal budget, prepaid card (direct payment), paying for yourself",
            "url": body["url"],
        }
    ]
    (place,) = body["service_at_locations"]
    location = place["location"]
    assert place["location_id"] == location["id"] == ids.location(market.near.id)
    assert (location["latitude"], location["longitude"]) == (52.5880, -0.2290)
    assert location["external_identifier"] == market.near.cqc_location_id
    assert location["addresses"][0]["postal_code"] == "PE1 1AA" and location["addresses"][0]["address_1"] == "1 Bridge Street"
    (contact,) = body["contacts"]
    assert contact["email"] == market.near.email and contact["phones"][0]["number"] == "01733 000000"
    kinds = {a["link_type"]: a["taxonomy_term"] for a in body["attributes"]}
    assert kinds["types-of-support"]["code"] == "home-care" and kinds["types-of-support"]["name"] == "Home care"
    assert kinds["cqc-overall-rating"]["code"] == "good" and kinds["cqc-overall-rating"]["name"] == "Good"


def test_a_provider_publishing_less_is_published_with_less(client, market):
    """No address, email or telephone on its page: none in the feed; its radius is its area."""
    weekend = next(s for s in market.listed if s.title == "Weekend sitting service")
    body = get_json(client, f"/openreferral/services/{ids.service(weekend.id)}", "service")
    assert "email" not in body and "email" not in body["organization"] and body["contacts"] == []
    location = body["service_at_locations"][0]["location"]
    assert "addresses" not in location and "external_identifier" not in location
    assert [a["name"] for a in body["service_areas"]] == ["Anywhere within 5 miles of PE9"]
    assert [a["link_type"] for a in body["attributes"]] == ["types-of-support"]  # not rated by CQC
    assert body["cost_options"][0]["amount_description"] == "per hour, at least 2 hours"
    overnight = body["schedules"][-1]
    assert (overnight["byday"], overnight["opens_at"], overnight["closes_at"]) == ("SU", "22:00", "07:00")
    assert "next morning" in overnight["description"] and overnight["notes"] == "Bank holidays too"


def test_taxonomies_and_their_terms(client, market, category):
    taxonomies = walk(client, "/openreferral/taxonomies", "page_of_taxonomy", 1)
    assert [t["name"] for t in taxonomies] == ["Types of support", "CQC overall rating"]
    terms = walk(client, "/openreferral/taxonomy_terms", "page_of_taxonomy_term", 5)
    home_care = next(t for t in terms if t["code"] == "home-care")
    assert home_care["id"] == ids.taxonomy_term("home-care") and home_care["taxonomy_id"] == taxonomies[0]["id"]
    assert home_care["term_uri"] == "http://localhost/categories/home-care"
    assert [t["code"] for t in terms[-4:]] == ["outstanding", "good", "requires_improvement", "inadequate"]
    only_ratings = get_json(client, f"/openreferral/taxonomy_terms?taxonomy_id={taxonomies[1]['id']}", "page_of_taxonomy_term")
    assert [t["code"] for t in only_ratings["contents"]] == ["outstanding", "good", "requires_improvement", "inadequate"]


def test_service_at_locations_pair_each_listed_service_with_its_providers_base(client, market):
    found = walk(client, "/openreferral/service_at_locations", "page_of_service_at_location_list", 10)
    assert {f["service_id"] for f in found} == {ids.service(s.id) for s in market.listed}
    assert all(f["service"]["id"] == f["service_id"] and f["location"]["id"] == f["location_id"] for f in found)
    assert len({f["id"] for f in found}) == len(found)
