"""The component schemas of the feed's OpenAPI description: the UK profile's objects as we
write them (the fields we always give are required; the profile requires fewer)."""

from __future__ import annotations

_STRING = {"type": "string"}
_UUID = {"type": "string", "format": "uuid"}
_URI = {"type": "string", "format": "uri"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: list[str], properties: dict, description: str = "") -> dict:
    schema = {"type": "object", "required": required, "properties": properties}
    if description:
        schema["description"] = description
    return schema


def _taxonomy_schemas() -> dict:
    return {
        "Taxonomy": _object(
            ["id", "name", "description"],
            {"id": _UUID, "name": _STRING, "description": _STRING, "uri": _URI, "version": _STRING},
        ),
        "TaxonomyTerm": _object(
            ["id", "name", "term", "code", "description", "taxonomy", "taxonomy_id"],
            {
                "id": _UUID,
                "name": _STRING,
                "term": {"type": "string", "description": "The same as name: the UK profile's older field."},
                "code": {"type": "string", "description": "A type of support's slug (/categories/{slug}), or a CQC rating."},
                "description": _STRING,
                "taxonomy": {"type": "string", "enum": ["Types of support", "CQC overall rating"]},
                "taxonomy_id": _UUID,
                "term_uri": {**_URI, "description": "The type of support's page on the marketplace."},
            },
        ),
        "Attribute": _object(
            ["id", "link_id", "link_entity", "link_type", "taxonomy_term_id", "taxonomy_term"],
            {
                "id": _UUID,
                "link_id": _UUID,
                "link_entity": {"type": "string", "const": "service"},
                "link_type": {"type": "string", "enum": ["types-of-support", "cqc-overall-rating"]},
                "label": _STRING,
                "value": _STRING,
                "taxonomy_term_id": _UUID,
                "taxonomy_term": _ref("TaxonomyTerm"),
            },
        ),
    }


def _organization_schemas() -> dict:
    return {
        "Organization": _object(
            ["id", "name", "description", "uri"],
            {
                "id": _UUID,
                "name": _STRING,
                "alternate_name": {"type": "string", "description": "The registered name, when it differs."},
                "description": _STRING,
                "email": {"type": "string", "format": "email"},
                "website": _URI,
                "uri": {**_URI, "description": "The provider's page on the marketplace."},
            },
        ),
        "Phone": _object(["id", "contact_id", "number", "url"], {"id": _UUID, "contact_id": _UUID, "number": _STRING, "url": _URI}),
        "Contact": _object(
            ["id", "service_id", "name", "url"],
            {
                "id": _UUID,
                "service_id": _UUID,
                "name": _STRING,
                "title": _STRING,
                "email": {"type": "string", "format": "email"},
                "phones": {"type": "array", "items": _ref("Phone")},
                "url": _URI,
            },
            "The provider's published email and telephone number (only those its public page shows).",
        ),
    }


def _place_schemas() -> dict:
    address_fields = ["id", "location_id", "address_1", "city", "state_province", "postal_code", "country", "address_type"]
    return {
        "Address": _object(
            address_fields,
            {
                **dict.fromkeys(address_fields, _STRING),
                "id": _UUID,
                "location_id": _UUID,
                "address_2": _STRING,
                "country": {"type": "string", "const": "GB"},
                "address_type": {"type": "string", "const": "physical"},
            },
        ),
        "Location": _object(
            ["id", "location_type", "name", "description"],
            {
                "id": _UUID,
                "location_type": {"type": "string", "const": "physical"},
                "name": _STRING,
                "description": _STRING,
                "latitude": {"type": "number", "description": "Of the centroid of the base's postcode district."},
                "longitude": {"type": "number", "description": "Of the centroid of the base's postcode district."},
                "external_identifier": {"type": "string", "description": "The CQC location ID, for a regulated provider."},
                "external_identifier_type": {"type": "string", "const": "CQC location ID"},
                "addresses": {
                    "type": "array",
                    "items": _ref("Address"),
                    "description": "Only when the provider publishes its address (with its full postcode).",
                },
            },
            "The provider's base: where its services are run from.",
        ),
        "ServiceArea": _object(
            ["id", "service_id", "name", "service_area"],
            {
                "id": _UUID,
                "service_id": _UUID,
                "name": _STRING,
                "service_area": _STRING,
                "extent_type": {"type": "string", "const": "text"},
            },
        ),
    }


def _service_part_schemas() -> dict:
    return {
        "Schedule": _object(
            ["id", "service_id", "description", "url"],
            {
                "id": _UUID,
                "service_id": _UUID,
                "freq": {"type": "string", "const": "WEEKLY"},
                "interval": {"type": "integer", "const": 1},
                "byday": {"type": "string", "enum": ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]},
                "opens_at": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "description": "UK local time."},
                "closes_at": {
                    "type": "string",
                    "pattern": "^[0-2][0-9]:[0-5][0-9]$",
                    "description": "UK local time; earlier than opens_at for a session that runs overnight.",
                },
                "description": _STRING,
                "notes": _STRING,
                "url": _URI,
            },
        ),
        "CostOption": _object(
            ["id", "service_id", "amount", "currency", "amount_description", "option", "url"],
            {
                "id": _UUID,
                "service_id": _UUID,
                "amount": {"type": "number", "exclusiveMinimum": 0, "description": "In pounds, per unit."},
                "currency": {"type": "string", "const": "GBP"},
                "amount_description": {"type": "string", "examples": ["per hour", "per visit, at least 2 visits"]},
                "option": _STRING,
                "url": _URI,
            },
        ),
        "ServiceAtLocation": _object(
            ["id", "service_id", "location_id", "location"],
            {"id": _UUID, "service_id": _UUID, "location_id": _UUID, "location": _ref("Location"), "service": _ref("Service")},
        ),
    }


def _service_properties() -> dict:
    return {
        "id": _UUID,
        "organization_id": _UUID,
        "name": _STRING,
        "description": _STRING,
        "url": {**_URI, "description": "The service's page on the marketplace."},
        "email": {"type": "string", "format": "email"},
        "status": {"type": "string", "const": "active"},
        "last_modified": {"type": "string", "format": "date-time", "description": "When the service or its provider last changed (UTC)."},
        "organization": _ref("Organization"),
    }


def _service_schemas() -> dict:
    brief_required = ["id", "organization_id", "name", "description", "url", "status", "last_modified", "organization"]
    nested = {
        "schedules": _ref("Schedule"),
        "service_areas": _ref("ServiceArea"),
        "service_at_locations": _ref("ServiceAtLocation"),
        "cost_options": _ref("CostOption"),
        "contacts": _ref("Contact"),
        "attributes": _ref("Attribute"),
    }
    return {
        "Service": _object(brief_required, _service_properties(), "A listed service's own fields and its organization."),
        "FullService": _object(
            brief_required + list(nested),
            {**_service_properties(), **{name: {"type": "array", "items": item} for name, item in nested.items()}},
            "A listed service with everything about it nested inside.",
        ),
    }


def _page_schema(item: str) -> dict:
    return _object(
        ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"],
        {
            "total_items": {"type": "integer", "minimum": 0},
            "total_pages": {"type": "integer", "minimum": 0},
            "page_number": {"type": "integer", "minimum": 1},
            "size": {"type": "integer", "minimum": 0, "description": "How many are on this page."},
            "first_page": {"type": "boolean"},
            "last_page": {"type": "boolean"},
            "empty": {"type": "boolean", "description": "This page has nothing on it."},
            "contents": {"type": "array", "items": _ref(item)},
        },
    )


def _error_schema(parameters: tuple[str, ...]) -> dict:
    fields = {"type": "object", "propertyNames": {"enum": list(parameters)}, "additionalProperties": _STRING}
    error = _object(["status", "title"], {"status": {"type": "integer"}, "title": _STRING, "detail": _STRING, "fields": fields})
    return _object(["error"], {"error": error})


def schemas(parameters: tuple[str, ...]) -> dict:
    return {
        "ApiDetails": _object(["version", "profile", "openapi_url"], {"version": _STRING, "profile": _URI, "openapi_url": _URI}),
        **_taxonomy_schemas(),
        **_organization_schemas(),
        **_place_schemas(),
        **_service_part_schemas(),
        **_service_schemas(),
        "ServicePage": _page_schema("Service"),
        "ServiceAtLocationPage": _page_schema("ServiceAtLocation"),
        "TaxonomyPage": _page_schema("Taxonomy"),
        "TaxonomyTermPage": _page_schema("TaxonomyTerm"),
        "Error": _error_schema(parameters),
    }
