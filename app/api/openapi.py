"""The OpenAPI 3.1 description of the API, built from the same enums and limits the code
checks against, so the document cannot drift from what the endpoint accepts."""

from __future__ import annotations

from flask import current_app

from app.models import MAX_PRICE_PENCE, CQCRating, FundingRoute, PeopleGroup, PriceUnit
from app.services.geo import INWARD_CODE
from app.services.search import params as sp

_NULLABLE_STRING = {"type": ["string", "null"]}


def _parameter(name: str, description: str, schema: dict, **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema, **extra}


def _quality_parameters() -> list[dict]:
    return [
        _parameter(
            "min_cqc_rating",
            "Lowest CQC overall rating. Providers without a rating are left out when this is given.",
            {"type": "string", "enum": [r.value for r in CQCRating]},
        ),
        _parameter(
            "min_review_rating",
            "Lowest average of the service's published reviews by people who used it, in stars (1 means it has any reviews). "
            "Services with no reviews are left out when this is given.",
            {"type": "integer", "enum": list(sp.REVIEW_RATING_CHOICES)},
        ),
    ]


def _supports_parameter() -> dict:
    groups = "; ".join(f"`{g.value}`: {g.label}" for g in PeopleGroup)
    return _parameter(
        "supports",
        f"A group of people the service's provider must say it supports (CQC's service user bands and specialisms): {groups}.",
        {"type": "string", "enum": [g.value for g in PeopleGroup]},
    )


def _supports_schema() -> dict:
    return {
        "type": "array",
        "description": "The groups of people its provider says it supports, in the order of the `supports` parameter's list.",
        "items": {"type": "string", "enum": [g.value for g in PeopleGroup]},
        "uniqueItems": True,
    }


def _parameters(categories: list[str], districts: list[str]) -> list[dict]:
    return [
        _parameter(
            "q",
            'Words to search for. Whoosh syntax works: AND, OR, NOT, brackets, "phrases", wild* and fuzzy~ words. '
            "A NUL character is refused.",
            {"type": "string", "maxLength": sp.MAX_QUERY_LENGTH, "pattern": r"^[^\x00]*$"},
        ),
        _parameter(
            "category",
            "A type of support, by the slug in /categories/{slug}: one of today's types of support (this list follows them).",
            {"type": "string", "enum": categories},
        ),
        _parameter(
            "postcode",
            "A full UK postcode in a district the marketplace knows (this pattern lists them), like PE1 1XX. "
            "Case and spaces do not matter. Only its district (outward code) is used or recorded.",
            {"type": "string", "pattern": f"^({'|'.join(districts)}) {INWARD_CODE}$", "examples": ["PE1 1XX"]},
        ),
        _parameter(
            "radius_miles",
            "With a postcode: services whose provider is based within this distance of the postcode's district, "
            "or that list the district among their areas.",
            {"type": "integer", "minimum": sp.MIN_RADIUS_MILES, "maximum": sp.MAX_RADIUS_MILES, "default": sp.DEFAULT_RADIUS_MILES},
        ),
        _parameter(
            "max_price_pence",
            "Highest price per unit, in pence. (The search page takes this too, and `max_price` in pounds as people type it.)",
            {"type": "integer", "minimum": 1, "maximum": MAX_PRICE_PENCE},
        ),
        *_quality_parameters(),
        _parameter("funding", "A way of paying the service must accept.", {"type": "string", "enum": [r.value for r in FundingRoute]}),
        _supports_parameter(),
        _parameter(
            "day",
            "A day the service must run on. Repeat it (or separate days with commas) for several days: services must run on all of them.",
            {"type": "array", "items": {"type": "string", "enum": list(sp.DAY_VALUES)}},
            style="form",
            explode=True,
        ),
        _parameter(
            "framework_only",
            "Only services of providers approved on the council framework for their category.",
            {"type": "boolean", "default": False},
        ),
        _parameter(
            "sort",
            "Order of results. `distance` needs a postcode. `reviews`: the highest review score first, a Bayesian average "
            f"weighed with {sp.REVIEW_SORT_WEIGHT} reviews' worth of the average of all reviews, services with none last.",
            {"type": "string", "enum": [s.value for s in sp.Sort], "default": sp.Sort.BEST_MATCH.value},
        ),
        _parameter(
            "page",
            f"Page of {sp.PER_PAGE} results. A page past the last is not an error: "
            "it answers 200 with an empty `results` list, and `total` and `pages` say how many there are.",
            {"type": "integer", "minimum": 1, "maximum": sp.MAX_PAGE, "default": 1},
        ),
    ]


def _facet_value(value_schema: dict) -> dict:
    return {
        "type": "object",
        "required": ["value", "label", "count", "selected"],
        "properties": {
            "value": value_schema,
            "label": {"type": "string"},
            "count": {"type": "integer", "minimum": 0},
            "selected": {"type": "boolean"},
        },
    }


def _rank_schema() -> dict:
    return {
        "type": "object",
        "description": "The service's place on its council framework lot, ranked on quality and price.",
        "required": [
            "lot_id",
            "lot_name",
            "rank",
            "of",
            "joint",
            "score",
            "quality_score",
            "price_score",
            "quality_weight",
            "price_weight",
            "review_weight",
            "reviews",
            "sentence",
            "reasons",
        ],
        "properties": {
            "lot_id": {"type": "integer"},
            "lot_name": {"type": "string"},
            "rank": {"type": "integer", "minimum": 1},
            "of": {"type": "integer", "minimum": 1},
            "joint": {"type": "boolean", "description": "Another service on the lot has the same score."},
            "score": {
                "type": "number",
                "minimum": 0,
                "maximum": 100,
                "description": "quality_weight% of quality_score plus price_weight% of price_score.",
            },
            "quality_score": {"type": "integer", "minimum": 0, "maximum": 100},
            "price_score": {"type": "integer", "minimum": 0, "maximum": 100},
            "quality_weight": {"type": "integer", "minimum": 0, "maximum": 100},
            "price_weight": {"type": "integer", "minimum": 0, "maximum": 100},
            "review_weight": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "description": "The share of quality_score that comes from reviews by people who used the service (the rest from CQC).",
            },
            "reviews": {
                "type": "object",
                "required": ["count", "average", "counted_in_quality"],
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "average": {"type": ["number", "null"], "minimum": 1, "maximum": 5},
                    "counted_in_quality": {
                        "type": "boolean",
                        "description": "Reviews make up review_weight% of quality_score (false while no service on the lot has a review).",
                    },
                },
            },
            "sentence": {"type": "string", "examples": ["Ranked 2nd of 14 on the Home care framework: quality 88/100, price 93/100"]},
            "reasons": {"type": "array", "items": {"type": "string"}},
        },
    }


def _reviews_schema() -> dict:
    return {
        "type": "object",
        "description": "Its published reviews by people who used it.",
        "required": ["count", "average"],
        "properties": {
            "count": {"type": "integer", "minimum": 0},
            "average": {"type": ["number", "null"], "minimum": 1, "maximum": 5, "description": "To one decimal place."},
        },
    }


def _matching_properties() -> dict:
    """How a result matched the words: all of them or most, and the needs it meets."""
    return {
        "matches_every_word": {
            "type": "boolean",
            "description": "False for a service that matches most of the words but not all (shown after every one that matches all).",
        },
        "meets": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The needs searched for in everyday words that it meets, like 'help with washing and bathing'.",
        },
    }


def _words_properties() -> dict:
    """What became of the words: a suggested or applied spelling, how many matched them all,
    and, when nothing was found, the nearest broader search."""
    return {
        "did_you_mean": {**_NULLABLE_STRING, "description": "The words with misspellings corrected, when that finds something."},
        "corrected_to": {
            **_NULLABLE_STRING,
            "description": "The words as typed found nothing, so these are the results for this corrected spelling.",
        },
        "every_word_total": {
            "type": "integer",
            "minimum": 0,
            "description": "How many results match every word; when fewer than a page do, those matching most of the words "
            "follow them and count in `total`.",
        },
        "broader": {
            "description": "When nothing is found: the nearest broader search that finds something (`query` in these "
            "parameters, its `total`, and what was changed, in words), or null.",
            "oneOf": [
                {
                    "type": "object",
                    "required": ["query", "total", "change"],
                    "properties": {"query": {"type": "object"}, "total": {"type": "integer", "minimum": 1}, "change": {"type": "string"}},
                },
                {"type": "null"},
            ],
        },
    }


def _service_schema() -> dict:
    return {
        "type": "object",
        "required": [
            "id",
            "url",
            "title",
            "provider",
            "category",
            "price_pence",
            "unit",
            "min_units",
            "distance_miles",
            "covers_your_area",
            "cqc_rating",
            "reviews",
            "funding",
            "days",
            "supports",
            "framework",
            "matches_every_word",
            "meets",
        ],
        "properties": {
            "id": {"type": "integer"},
            "url": {"type": "string", "description": "The service's page."},
            "title": {"type": "string"},
            "provider": {
                "type": "object",
                "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
            },
            "category": {
                "type": "object",
                "required": ["slug", "name"],
                "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
            },
            "price_pence": {"type": "integer", "minimum": 1},
            "unit": {"type": "string", "enum": [u.value for u in PriceUnit]},
            "min_units": {"type": "integer", "minimum": 1},
            "distance_miles": {
                "type": ["number", "null"],
                "description": "From the postcode's district to the provider's base district; null without a postcode.",
            },
            "covers_your_area": {
                "type": "boolean",
                "description": "Based further away than radius_miles, but serves the postcode's district.",
            },
            "cqc_rating": {"type": ["string", "null"], "enum": [r.value for r in CQCRating] + [None]},
            "reviews": _reviews_schema(),
            "funding": {"type": "array", "items": {"type": "string", "enum": [r.value for r in FundingRoute]}},
            "days": {"type": "array", "items": {"type": "string", "enum": list(sp.DAY_VALUES)}},
            "supports": _supports_schema(),
            "framework": {"oneOf": [{"$ref": "#/components/schemas/FrameworkRank"}, {"type": "null"}]},
            **_matching_properties(),
        },
    }


def _results_schema() -> dict:
    string_value = {"type": "string"}
    return {
        "type": "object",
        "required": [
            "total",
            "page",
            "pages",
            "per_page",
            "query",
            "did_you_mean",
            "corrected_to",
            "location",
            "results",
            "every_word_total",
            "broader",
            "facets",
        ],
        "properties": {
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "pages": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "const": sp.PER_PAGE},
            "query": {"type": "object", "description": "The search as understood, without defaults."},
            "location": {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["postcode_district", "town"],
                        "properties": {"postcode_district": {"type": "string"}, "town": {"type": "string"}},
                    },
                    {"type": "null"},
                ]
            },
            "results": {"type": "array", "maxItems": sp.PER_PAGE, "items": {"$ref": "#/components/schemas/Service"}},
            **_words_properties(),
            "facets": {
                "type": "object",
                "description": "How many results each choice would give, with the other filters as they are.",
                "required": ["category", "funding", "day", "min_cqc_rating", "min_review_rating", "framework_only", "supports"],
                "properties": {
                    "category": {"type": "array", "items": _facet_value(string_value)},
                    "funding": {"type": "array", "items": _facet_value({"type": "string", "enum": [r.value for r in FundingRoute]})},
                    "day": {"type": "array", "items": _facet_value({"type": "string", "enum": list(sp.DAY_VALUES)})},
                    "min_cqc_rating": {"type": "array", "items": _facet_value({"type": "string", "enum": [r.value for r in CQCRating]})},
                    "framework_only": _facet_value(string_value),
                    "min_review_rating": {
                        "type": "array",
                        "items": _facet_value({"type": "string", "enum": [str(n) for n in sp.REVIEW_RATING_CHOICES]}),
                    },
                    "supports": {"type": "array", "items": _facet_value({"type": "string", "enum": [g.value for g in PeopleGroup]})},
                },
            },
        },
    }


def _error_schema() -> dict:
    return {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "title"],
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "detail": {"type": "string"},
                    "fields": {
                        "type": "object",
                        "description": "Each bad parameter, with what is wrong with it.",
                        "propertyNames": {"enum": list(sp.API_PARAMETERS)},
                        "additionalProperties": {"type": "string"},
                    },
                },
            }
        },
    }


def _schemas() -> dict:
    return {"FrameworkRank": _rank_schema(), "Service": _service_schema(), "SearchResults": _results_schema(), "Error": _error_schema()}


def openapi_document(*, categories: list[str], districts: list[str]) -> dict:
    """The description, with today's types of support and postcode districts in it."""

    def response(description: str, schema: str) -> dict:
        return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}

    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{current_app.config['SERVICE_NAME']} API",
            "version": "1.0.0",
            "description": (
                f"Search the care and support services listed in the {current_app.config['COUNCIL_NAME']} area. "
                "Results and their order are the same as on the search page. Parameters are read as the search page "
                "reads what people type: case and extra spaces do not matter, and an empty value is the same as "
                "leaving the parameter out."
            ),
        },
        "paths": {
            "/api/v1/services": {
                "get": {
                    "operationId": "searchServices",
                    "summary": "Search listed services",
                    "parameters": _parameters(categories, districts),
                    "responses": {
                        "200": response(
                            "A page of results, with the total and facet counts (no results on a page past the last).", "SearchResults"
                        ),
                        "400": response(
                            "Some parameters are not valid; `fields` names every bad one at once (malformed values, "
                            "`sort=distance` without a postcode, an unknown category or postcode district).",
                            "Error",
                        ),
                        "414": {
                            "description": "The address is longer than the web server takes (about 4,000 characters): "
                            "shorten the words searched for. Answered by the server in front of the app, as plain text."
                        },
                        "503": response("The search index is not available.", "Error"),
                    },
                }
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
        "components": {"schemas": _schemas()},
    }
