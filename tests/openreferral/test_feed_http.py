"""Open by design: no key or sign-in, readable from any origin (errors and 304s too),
limited per address, cacheable with ETag and Last-Modified, described by OpenAPI, and with
ids that do not change."""

from __future__ import annotations

import uuid

import jsonschema_rs
import pytest
from werkzeug.http import http_date

from app import create_app
from app.extensions import db
from app.services import search
from app.services.openreferral import ids
from tests.openreferral.test_feed import PAGED, get_json, walk

EVERY_PATH = ["/openreferral/", "/openreferral/openapi.json", *PAGED]


@pytest.fixture
def limited_client(app):
    """A client of the same database with rate limits switched on (they are off in tests)."""
    limited = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR", "INSTANCE_PATH")},
            "RATELIMIT_ENABLED": True,
            "TESTING": True,
            "SERVER_NAME": "localhost",
            "OPENREFERRAL_RATE_LIMIT": "3 per minute",
        }
    )
    return limited.test_client()


def test_every_answer_is_open_to_any_origin_and_to_anyone_signed_out(client, market):
    service = f"/openreferral/services/{ids.service(market.listed[0].id)}"
    answers = [client.get(path) for path in [*EVERY_PATH, service]]
    answers += [
        client.get(service, headers={"If-None-Match": client.get(service).headers["ETag"]}),  # 304
        client.get("/openreferral/services?page=0"),  # 400
        client.get(f"/openreferral/services/{uuid.uuid4()}"),  # 404 from the view
        client.get("/openreferral/no-such-thing"),  # 404 from routing
        client.post("/openreferral/services"),  # 405
    ]
    assert [a.status_code for a in answers[-5:]] == [304, 400, 404, 404, 405]
    for answer in answers:
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        assert "Set-Cookie" not in answer.headers  # no session for anyone signed out
        assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    for answer in answers[-4:]:
        assert answer.mimetype == "application/json" and answer.json["error"]["status"] == answer.status_code


def test_a_preflight_is_answered_for_any_origin(client, market):
    response = client.options(
        "/openreferral/services",
        headers={
            "Origin": "https://another-council.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def test_the_rest_of_the_site_is_not_opened_to_other_origins(client, market):
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/openapi.json").headers
    assert "Access-Control-Allow-Origin" not in client.get("/openreferralx").headers


@pytest.mark.parametrize("path", EVERY_PATH)
def test_a_repeat_with_the_etag_is_a_304_with_the_same_headers(client, market, path):
    first = client.get(path)
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == etag
    assert again.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert first.headers["Cache-Control"] == "public, max-age=60"


def test_a_repeat_with_the_last_modified_date_is_a_304_until_something_changes(client, market, make_service):
    first = client.get("/openreferral/services")
    since = first.headers["Last-Modified"]
    assert client.get("/openreferral/services", headers={"If-Modified-Since": since}).status_code == 304
    service = f"/openreferral/services/{ids.service(market.listed[0].id)}"
    assert client.get(service, headers={"If-Modified-Since": client.get(service).headers["Last-Modified"]}).status_code == 304
    make_service(provider=market.near, title="A new listing")
    later = http_date(first.last_modified.timestamp() - 1)  # an earlier copy than the change
    assert client.get("/openreferral/services", headers={"If-Modified-Since": later}).status_code == 200
    assert client.get("/openreferral/services").headers["ETag"] != first.headers["ETag"]
    # An ETag that no longer matches wins over a date that would.
    both = {"If-None-Match": first.headers["ETag"], "If-Modified-Since": http_date(4102444800)}
    assert client.get("/openreferral/services", headers=both).status_code == 200


def test_a_signed_in_visitor_gets_the_same_feed_but_only_their_own_browser_keeps_it(client, market, make_citizen, login):
    anonymous = client.get("/openreferral/services").json
    signed_in = client.application.test_client()
    login(signed_in, make_citizen())
    response = signed_in.get("/openreferral/services")
    assert response.json == anonymous
    assert response.headers["Cache-Control"].startswith("private")


def test_each_address_is_limited_with_a_json_429_open_to_any_origin(limited_client, market):
    limited_client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    assert [limited_client.get("/openreferral/taxonomies").status_code for _ in range(3)] == [200, 200, 200]
    refused = limited_client.get("/openreferral/services")
    assert refused.status_code == 429 and refused.mimetype == "application/json"
    assert refused.json["error"]["status"] == 429 and refused.headers["Retry-After"]
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    limited_client.environ_base["REMOTE_ADDR"] = "192.0.2.2"
    assert limited_client.get("/openreferral/services").status_code == 200


def test_ids_are_uuids_that_stay_the_same_across_requests_and_a_rebuilt_index(client, market):
    def every_id():
        found = walk(client, "/openreferral/service_at_locations", "page_of_service_at_location_list", 100)
        details = [get_json(client, f"/openreferral/services/{f['service_id']}", "service") for f in found]
        return sorted((f["id"], f["service_id"], f["location_id"]) for f in found), [
            sorted(x["id"] for part in ("schedules", "service_areas", "cost_options", "contacts", "attributes") for x in d[part])
            for d in details
        ]

    before = every_id()
    db.session.rollback()  # end the requests' read transaction (SQLite would keep its lock)
    search.rebuild()
    assert every_id() == before
    service = market.listed[0]
    assert ids.service(service.id) == str(uuid.uuid5(ids.NAMESPACE, f"service:{service.id}"))
    assert uuid.UUID(ids.service(service.id)).version == 5


def test_the_openapi_description_covers_every_route_and_describes_every_answer(app, client, market):
    document = get_json(client, "/openreferral/openapi.json")
    assert document["openapi"] == "3.1.0"
    routes = {rule.rule.replace("<service_id>", "{id}") for rule in app.url_map.iter_rules() if rule.endpoint.startswith("openreferral.")}
    assert routes == set(document["paths"])
    service = ids.service(market.listed[0].id)
    answers = {
        "/openreferral/": ("ApiDetails", "/openreferral/", "api_details"),
        "/openreferral/services": ("ServicePage", "/openreferral/services?per_page=100", "page_of_service_list"),
        "/openreferral/services/{id}": ("FullService", f"/openreferral/services/{service}", "service"),
        "/openreferral/service_at_locations": (
            "ServiceAtLocationPage",
            "/openreferral/service_at_locations?postcode=PE1+1XX",
            "page_of_service_at_location_list",
        ),
        "/openreferral/taxonomies": ("TaxonomyPage", "/openreferral/taxonomies", "page_of_taxonomy"),
        "/openreferral/taxonomy_terms": ("TaxonomyTermPage", "/openreferral/taxonomy_terms", "page_of_taxonomy_term"),
    }
    for path, (schema, url, profile) in answers.items():
        described = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert described == {"$ref": f"#/components/schemas/{schema}"}
        validator = jsonschema_rs.Draft202012Validator({**document, "$ref": described["$ref"]}, validate_formats=True)
        assert [e.message for e in validator.iter_errors(get_json(client, url, profile))] == [], url
    error = jsonschema_rs.Draft202012Validator({**document, "$ref": "#/components/schemas/Error"})
    assert error.is_valid(client.get("/openreferral/service_at_locations?page=0&proximity=5&day=x").json)


def test_the_openapi_description_names_every_parameter_the_feed_reads(client, market):
    from app.services.openreferral import params

    document = get_json(client, "/openreferral/openapi.json")
    described = {p["name"] for item in document["paths"].values() for p in item["get"].get("parameters", []) if p["in"] == "query"}
    assert described == set(params.PARAMETERS)
    per_page = next(p for p in document["paths"]["/openreferral/services"]["get"]["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == params.MAX_PER_PAGE
