"""The feed's filters: words (our own search), type of support or CQC rating, days,
changes since a moment, and place; and a 400 naming every bad parameter."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import Provider, Service
from app.services.openreferral import ids
from tests.openreferral.test_feed import get_json, walk


def names(client, path: str, schema: str = "page_of_service_list") -> list[str]:
    found = walk(client, path, schema, per_page=3)
    return [item.get("service", item)["name"] for item in found]


def test_search_finds_what_the_search_api_finds_in_the_same_order_and_counts_exactly(client, market):
    api = client.get("/api/v1/services?q=home+care").json
    feed = walk(client, "/openreferral/services?search=home+care", "page_of_service_list", per_page=4)
    assert len(feed) == api["total"] >= 22
    assert [s["id"] for s in feed[:20]] == [ids.service(r["id"]) for r in api["results"]]
    assert names(client, "/openreferral/services?search=meals") == ["Hot meals delivered"]


def test_search_with_nothing_found_is_an_empty_page_not_a_correction(client, market):
    body = get_json(client, "/openreferral/services?search=hoem+caer", "page_of_service_list")
    assert body["total_items"] == 0 and body["total_pages"] == 0 and body["empty"] is True


def test_a_type_of_support_or_a_cqc_rating_as_taxonomy_term(client, market):
    meals = ids.taxonomy_term("meals")
    assert names(client, f"/openreferral/services?taxonomy_term_id={meals}") == ["Hot meals delivered"]
    good = ids.taxonomy_term("cqc-overall-rating:good")
    assert len(names(client, f"/openreferral/services?taxonomy_term_id={good}")) == 23  # Nene Home Care's
    assert names(client, f"/openreferral/services?taxonomy_term_id={ids.taxonomy_term('cqc-overall-rating:outstanding')}") == []
    assert names(client, f"/openreferral/services?search=visits&taxonomy_term_id={meals}") == []


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("SA", ["Hot meals delivered", "Weekend sitting service"]),
        ("saturday", ["Hot meals delivered", "Weekend sitting service"]),
        ("MO,SA", ["Hot meals delivered"]),
        ("su", ["Hot meals delivered", "Weekend sitting service"]),
    ],
)
def test_day_keeps_services_that_usually_run_on_each_day_given(client, market, day, expected):
    assert names(client, f"/openreferral/services?day={day}") == expected


def test_monday_has_the_weekday_services(client, market):
    assert len(names(client, "/openreferral/services?day=MO")) == 23


def test_modified_after_counts_a_change_to_the_service_or_to_its_provider(client, market):
    long_ago = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    db.session.execute(update(Service).values(updated_at=long_ago))
    db.session.execute(update(Provider).values(updated_at=long_ago))
    db.session.execute(update(Provider).where(Provider.id == market.far.id).values(updated_at=dt.datetime(2026, 3, 2, tzinfo=dt.UTC)))
    meals = next(s for s in market.listed if s.title == "Hot meals delivered")
    db.session.execute(update(Service).where(Service.id == meals.id).values(updated_at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)))
    db.session.commit()
    changed = ["Dementia day club", "Hot meals delivered", "Weekend sitting service"]
    assert names(client, "/openreferral/services?modified_after=2026-03-01") == changed
    assert names(client, "/openreferral/services?modified_after=2026-03-01T12:00:00Z") == changed  # at that moment counts
    assert names(client, "/openreferral/services?modified_after=2026-03-01T13:00:00%2B01:00") == changed  # 12:00 UTC
    assert names(client, "/openreferral/services?modified_after=2026-03-01T13:00:00 01:00") == changed  # an unencoded +
    assert names(client, "/openreferral/services?modified_after=2026-03-01T12:00:01Z") == ["Dementia day club", "Weekend sitting service"]
    assert names(client, "/openreferral/services?modified_after=2026-04-01") == []
    body = get_json(client, f"/openreferral/services/{ids.service(meals.id)}", "service")
    assert body["last_modified"] == "2026-03-01T12:00:00.000Z"


def test_a_postcode_keeps_the_services_whose_area_covers_it(client, market):
    def at(postcode: str) -> list[str]:
        return names(client, f"/openreferral/service_at_locations?postcode={postcode}", "page_of_service_at_location_list")

    assert len(at("PE2+1XX")) == 23  # one of Nene Home Care's listed areas
    assert at("pe9 1xx") == ["Dementia day club", "Weekend sitting service"]  # Stamford Helpers' base
    assert at("PE3 1XX") == []  # neither lists it, and it is further than 5 miles from Stamford


def test_proximity_keeps_services_based_within_so_many_metres_nearest_first(client, market):
    path = "/openreferral/service_at_locations?postcode=PE1+1XX&proximity={}"
    assert len(names(client, path.format(1000), "page_of_service_at_location_list")) == 23
    everything = names(client, path.format(200_000), "page_of_service_at_location_list")
    assert len(everything) == 25 and everything[-2:] == ["Dementia day club", "Weekend sitting service"]  # Stamford is ~17 km away
    assert names(client, path.format(16_000), "page_of_service_at_location_list") == everything[:-2]


@pytest.mark.parametrize(
    ("query", "bad"),
    [
        ("page=0", "page"),
        ("page=abc", "page"),
        ("page=10001", "page"),
        ("per_page=1000", "per_page"),
        ("per_page=0", "per_page"),
        ("postcode=PE1+1XX&proximity=-5", "proximity"),
        ("postcode=PE1+1XX&proximity=1.5", "proximity"),
        ("proximity=500", "proximity"),
        ("postcode=nonsense", "postcode"),
        ("postcode=ZZ9+9ZZ", "postcode"),
        ("modified_after=yesterday", "modified_after"),
        ("modified_after=0001-01-01T00:00:00%2B01:00", "modified_after"),
        ("day=funday", "day"),
        ("taxonomy_term_id=nope", "taxonomy_term_id"),
        (f"taxonomy_term_id={ids.of('something', 'else')}", "taxonomy_term_id"),
        ("search=" + "x" * 201, "search"),
        ("search=home%00care", "search"),
        ("day=MO%00", "day"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(client, market, query, bad):
    response = client.get(f"/openreferral/service_at_locations?{query}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert list(response.json["error"]["fields"]) == [bad]


def test_every_bad_parameter_is_named_at_once(client, market):
    response = client.get("/openreferral/services?page=0&per_page=1000&modified_after=yesterday&day=x&taxonomy_term_id=y")
    assert response.status_code == 400
    assert set(response.json["error"]["fields"]) == {"page", "per_page", "modified_after", "day", "taxonomy_term_id"}
    bad_terms = client.get("/openreferral/taxonomy_terms?taxonomy_id=nope&per_page=101")
    assert set(bad_terms.json["error"]["fields"]) == {"taxonomy_id", "per_page"}
    assert set(client.get("/openreferral/taxonomies?page=-1").json["error"]["fields"]) == {"page"}


def test_empty_and_unknown_parameters_are_as_if_left_out(client, market):
    plain = client.get("/openreferral/services").json
    assert client.get("/openreferral/services?search=&day=&page=&per_page=&modified_after=&taxonomy_term_id=&colour=red").json == plain
