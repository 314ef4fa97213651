"""The OpenAPI 3.1 description of the Open Referral UK feed, built from the same limits the
code checks against (app/services/openreferral/params.py), so it cannot drift from what
the feed accepts."""

from __future__ import annotations

from flask import current_app

from app.openreferral import RATE_LIMIT
from app.openreferral.openapi_schemas import schemas
from app.services import openreferral
from app.services.geo import INWARD_CODE
from app.services.openreferral import params as p
from app.services.search import params as search_params

PREFIX = "/openreferral"


def _parameter(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _paging_parameters() -> list[dict]:
    return [
        _parameter(
            "page",
            "Page number. A page past the last is not an error: it is empty, with the totals.",
            {"type": "integer", "minimum": 1, "maximum": p.MAX_PAGE, "default": 1},
        ),
        _parameter(
            "per_page", "How many on a page.", {"type": "integer", "minimum": 1, "maximum": p.MAX_PER_PAGE, "default": p.DEFAULT_PER_PAGE}
        ),
    ]


def _service_parameters() -> list[dict]:
    return [
        _parameter(
            "search",
            "Words to search for, read as the marketplace's search page reads them (the same services, in its best-match "
            "order). A NUL character is refused.",
            {"type": "string", "maxLength": search_params.MAX_QUERY_LENGTH},
        ),
        *_paging_parameters(),
        _parameter(
            "taxonomy_term_id",
            "Only services with this term: a type of support, or a CQC overall rating (see /openreferral/taxonomy_terms).",
            {"type": "string", "format": "uuid"},
        ),
        _parameter(
            "day",
            "Only services that usually run on this day (MO to SU, or monday to sunday). Several, separated by commas: on each of them.",
            {"type": "string", "pattern": "^[A-Za-z]+(,[A-Za-z]+)*$", "examples": ["MO", "SA,SU"]},
        ),
        _parameter(
            "modified_after",
            "Only services that changed (or whose provider changed) at or after this moment: an ISO 8601 date, or date and "
            "time (UTC when it has no offset).",
            {"type": "string", "examples": ["2026-06-01T09:00:00Z", "2026-06-01"]},
        ),
    ]


def _place_parameters() -> list[dict]:
    return [
        _parameter(
            "postcode",
            "A full UK postcode in a district the marketplace knows. Without proximity: services whose area covers it "
            "(its district is one of the provider's areas, within its radius, or its base). Nearest first. Only its "
            "district is used.",
            {"type": "string", "pattern": f"^[A-Za-z]{{1,2}}[0-9][A-Za-z0-9]? ?{INWARD_CODE}$", "examples": ["PE1 1XX"]},
        ),
        _parameter(
            "proximity",
            "With a postcode: services based within this many metres of the centroid of the postcode's district.",
            {"type": "integer", "minimum": 1, "maximum": p.MAX_PROXIMITY_METRES},
        ),
    ]


def _json(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _responses(ok: str, schema: str, *, bad: bool = False, missing: bool = False, searches: bool = False) -> dict:
    responses = {
        "200": _json(ok, schema),
        "304": {"description": "Not modified: the If-None-Match or If-Modified-Since sent still holds."},
        "429": _json(f"Too many requests from this address (the limit is {RATE_LIMIT}): wait for Retry-After seconds.", "Error"),
    }
    if bad:
        responses["400"] = _json("Some parameters are not valid: `fields` names every bad one at once.", "Error")
    if missing:
        responses["404"] = _json("No listed service has this id (a draft, withdrawn or unknown one).", "Error")
    if searches:
        responses["503"] = _json("`search` was given and the search index is not available.", "Error")
    return responses


def _get(operation: str, summary: str, responses: dict, parameters: list[dict] | None = None) -> dict:
    get = {"operationId": operation, "summary": summary, "responses": responses}
    if parameters:
        get["parameters"] = parameters
    return {"get": get}


def _paths() -> dict:
    service_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}
    service = _get("getFullyNestedServiceById", "A listed service, fully nested", _responses("The service.", "FullService", missing=True))
    service["get"]["parameters"] = [service_id]
    return {
        f"{PREFIX}/": _get(
            "getAPIMetaInformation", "The API's details", _responses("HSDS version, profile, OpenAPI description.", "ApiDetails")
        ),
        f"{PREFIX}/services": _get(
            "getPaginatedListOfServices",
            "Listed services: their own fields and organization",
            _responses("A page of services.", "ServicePage", bad=True, searches=True),
            _service_parameters(),
        ),
        f"{PREFIX}/services/{{id}}": service,
        f"{PREFIX}/service_at_locations": _get(
            "getPaginatedListOfServiceAtLocation",
            "Listed services at their providers' bases",
            _responses("A page of services at locations.", "ServiceAtLocationPage", bad=True, searches=True),
            [*_service_parameters(), *_place_parameters()],
        ),
        f"{PREFIX}/taxonomies": _get(
            "getPaginatedListOfTaxonomies",
            "Taxonomies",
            _responses("A page of taxonomies.", "TaxonomyPage", bad=True),
            _paging_parameters(),
        ),
        f"{PREFIX}/taxonomy_terms": _get(
            "getPaginatedListOfTaxonomyTerms",
            "Taxonomy terms: the types of support, then the CQC ratings",
            _responses("A page of taxonomy terms.", "TaxonomyTermPage", bad=True),
            [*_paging_parameters(), _parameter("taxonomy_id", "Only the terms of this taxonomy.", {"type": "string", "format": "uuid"})],
        ),
        f"{PREFIX}/openapi.json": _get("openapi", "This document", {"200": {"description": "The OpenAPI document."}}),
    }


def openapi_document() -> dict:
    council, service_name = current_app.config["COUNCIL_NAME"], current_app.config["SERVICE_NAME"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{service_name}: Open Referral UK feed",
            "version": openreferral.HSDS_VERSION,
            "description": (
                f"The care and support services listed in the {council} area, in the Human Services Data Specification "
                "3.0 as the Open Referral UK profile shapes it. Open: no key, no sign-in, any origin "
                f"(Access-Control-Allow-Origin: *). Limited to {RATE_LIMIT} per address. Answers carry an ETag and, for "
                "services, Last-Modified: send them back (If-None-Match, If-Modified-Since) to get 304 Not Modified. "
                "Ids are UUIDs that stay the same for as long as the thing they name exists. Empty parameters are the "
                "same as leaving them out; unknown ones are ignored."
            ),
        },
        "paths": _paths(),
        "components": {"schemas": schemas(openreferral.PARAMETERS)},
    }
