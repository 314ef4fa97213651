"""Our checks of the feed against the Open Referral UK profile's published JSON schemas
(github.com/OpenReferralUK/uk-profile, folder schema/), written out here rather than copied:
for each object, the fields the profile requires and the types and formats it gives.

Where two published versions of a file disagree, both are held to: taxonomy_term.json once
required ``id`` and ``taxonomy`` and now requires ``id``, ``name`` and ``description``; the
uncompiled schedule.json, cost_option.json, contact.json and phone.json require a ``url``
that the compiled service.json does not. Every schema here is JSON Schema 2020-12 (the
profile's openapi.json ``jsonSchemaDialect``), checked with formats (uuid, uri, email,
date-time) switched on.
"""

from __future__ import annotations

import jsonschema_rs

UUID = {"type": "string", "format": "uuid"}
URI = {"type": "string", "format": "uri"}
EMAIL = {"type": "string", "format": "email"}
STRING = {"type": "string"}
NUMBER = {"type": "number"}


def _array_of(name: str) -> dict:
    return {"type": "array", "items": {"$ref": f"#/$defs/{name}"}}


DEFS = {
    # taxonomy_term.json (both published versions' required fields)
    "taxonomy_term": {
        "type": "object",
        "required": ["id", "name", "description", "taxonomy"],
        "properties": {
            "id": UUID,
            "parent_id": UUID,
            "taxonomy": STRING,
            "taxonomy_id": UUID,
            "term_uri": URI,
            "term": STRING,
            "name": STRING,
            "description": STRING,
        },
    },
    # taxonomy.json
    "taxonomy": {
        "type": "object",
        "required": ["id", "name", "description"],
        "properties": {"id": UUID, "name": STRING, "description": STRING, "uri": URI, "version": STRING},
    },
    # attribute.json
    "attribute": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": UUID,
            "link_id": UUID,
            "taxonomy_term_id": UUID,
            "link_type": STRING,
            "taxonomy_term": {"$ref": "#/$defs/taxonomy_term"},
        },
    },
    # organization.json (the nested form in compiled/service_list.json has the same required fields)
    "organization": {
        "type": "object",
        "required": ["id", "name", "description"],
        "properties": {
            "id": UUID,
            "name": STRING,
            "description": STRING,
            "email": EMAIL,
            "website": URI,
            "logo": STRING,
            "uri": URI,
            "parent_organization_id": UUID,
            "attributes": _array_of("attribute"),
        },
    },
    # compiled/service.json, locations[].addresses[] (address.json)
    "address": {
        "type": "object",
        "required": ["id", "address_1", "city", "state_province", "postal_code", "country", "address_type"],
        "properties": {
            "id": UUID,
            "location_id": UUID,
            "attention": STRING,
            "address_1": STRING,
            "city": STRING,
            "region": STRING,
            "state_province": STRING,
            "postal_code": STRING,
            "country": STRING,
            "address_type": {"type": "string", "enum": ["physical", "postal", "virtual"]},
        },
    },
    # location.json
    "location": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": UUID,
            "name": STRING,
            "description": STRING,
            "latitude": NUMBER,
            "longitude": NUMBER,
            "external_identifier": STRING,
            "external_identifier_type": STRING,
            "addresses": _array_of("address"),
            "attributes": _array_of("attribute"),
        },
    },
    # service_at_location.json
    "service_at_location": {
        "type": "object",
        "required": ["id"],
        "properties": {"id": UUID, "service_id": UUID, "location_id": UUID, "location": {"$ref": "#/$defs/location"}},
    },
    # schedule.json
    "schedule": {
        "type": "object",
        "required": ["id", "url"],
        "properties": {
            "id": UUID,
            "service_id": UUID,
            "service_at_location_id": UUID,
            "valid_from": STRING,
            "valid_to": STRING,
            "dtstart": STRING,
            "freq": {"type": "string", "enum": ["WEEKLY", "MONTHLY"]},
            "interval": NUMBER,
            "byday": STRING,
            "bymonthday": STRING,
            "description": STRING,
            "opens_at": STRING,
            "closes_at": STRING,
            "schedule_link": URI,
            "attending_type": STRING,
            "notes": STRING,
        },
    },
    # compiled/service.json, service_areas[] (service_area.json)
    "service_area": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": UUID,
            "service_id": UUID,
            "name": STRING,
            "extent": STRING,
            "extent_type": STRING,
            "uri": STRING,
            "service_area": STRING,
        },
    },
    # cost_option.json
    "cost_option": {
        "type": "object",
        "required": ["id", "url"],
        "properties": {
            "id": UUID,
            "service_id": UUID,
            "valid_from": STRING,
            "valid_to": STRING,
            "option": STRING,
            "amount": NUMBER,
            "amount_description": STRING,
        },
    },
    # phone.json
    "phone": {
        "type": "object",
        "required": ["id", "number", "url"],
        "properties": {"id": UUID, "contact_id": UUID, "number": STRING, "description": STRING},
    },
    # contact.json (HSDS 3.0 nests phones in a contact)
    "contact": {
        "type": "object",
        "required": ["id", "url"],
        "properties": {
            "id": UUID,
            "service_id": UUID,
            "name": STRING,
            "title": STRING,
            "email": EMAIL,
            "phones": _array_of("phone"),
            "attributes": _array_of("attribute"),
        },
    },
}

_SERVICE_FIELDS = {
    "id": UUID,
    "organization_id": UUID,
    "name": STRING,
    "description": STRING,
    "url": URI,
    "email": EMAIL,
    "status": {"type": "string", "enum": ["active", "inactive", "defunct", "temporarily closed"]},
    "fees": STRING,
    "accreditations": STRING,
    "minimum_age": NUMBER,
    "maximum_age": NUMBER,
    "assured_date": STRING,
    "assurer_email": EMAIL,
    "alert": STRING,
    "last_modified": {"type": "string", "format": "date-time"},
    "organization": {"$ref": "#/$defs/organization"},
}

# compiled/service_list.json: a service's one-to-one fields and its organization
DEFS["service_list"] = {"type": "object", "required": ["id", "name", "status", "url"], "properties": _SERVICE_FIELDS}

# service.json and compiled/service.json: the service fully nested
DEFS["service"] = {
    "type": "object",
    "required": ["id", "name", "status", "url"],
    "properties": {
        **_SERVICE_FIELDS,
        "schedules": _array_of("schedule"),
        "service_areas": _array_of("service_area"),
        "service_at_locations": _array_of("service_at_location"),
        "cost_options": _array_of("cost_option"),
        "contacts": _array_of("contact"),
        "attributes": _array_of("attribute"),
    },
}

# compiled/service_at_location_list.json: the link, its location and the service's own fields
DEFS["service_at_location_list"] = {
    "allOf": [{"$ref": "#/$defs/service_at_location"}],
    "properties": {"service": {"$ref": "#/$defs/service_list"}},
}

# openapi.json: the "/" answer, and components/schemas/Page (its fields, all of which we give)
DEFS["api_details"] = {
    "type": "object",
    "required": ["version", "profile", "openapi_url"],
    "properties": {"version": STRING, "profile": URI, "openapi_url": URI},
}


def _page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"],
        "properties": {
            "total_items": {"type": "integer"},
            "total_pages": {"type": "integer"},
            "page_number": {"type": "integer"},
            "size": {"type": "integer"},
            "first_page": {"type": "boolean"},
            "last_page": {"type": "boolean"},
            "empty": {"type": "boolean"},
            "contents": {"type": "array", "items": {"$ref": f"#/$defs/{item}"}},
        },
    }


for _item in ("service_list", "service_at_location_list", "taxonomy", "taxonomy_term"):
    DEFS[f"page_of_{_item}"] = _page_of(_item)

_VALIDATORS: dict[str, jsonschema_rs.Draft202012Validator] = {}


def errors(instance, name: str) -> list[str]:
    """What is wrong with ``instance`` as the profile's ``name`` object (empty when nothing)."""
    if name not in _VALIDATORS:
        schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": DEFS, "$ref": f"#/$defs/{name}"}
        _VALIDATORS[name] = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    return [f"{error.instance_path}: {error.message}" for error in _VALIDATORS[name].iter_errors(instance)]
