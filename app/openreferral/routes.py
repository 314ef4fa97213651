"""The feed's resources: each view parses its query string, asks the feed for one answer
and sends it as a cacheable response. Bad parameters are a 400 naming each of them."""

from __future__ import annotations

from flask import request

from app.errors import json_error
from app.openreferral import bp
from app.openreferral.caching import cacheable
from app.openreferral.openapi import openapi_document
from app.security import checks_its_own_input
from app.services import openreferral, search
from app.services.errors import ValidationError


@bp.errorhandler(ValidationError)
def _bad_parameters(exc: ValidationError):
    return json_error(400, "Invalid parameters", "Some parameters are not valid: see fields.", fields=exc.errors)


@bp.errorhandler(search.SearchUnavailable)
def _search_unavailable(exc: search.SearchUnavailable):
    return json_error(503, "Search unavailable", str(exc))


@bp.get("/")
def api_details():
    """The API's details: the HSDS version, the profile and where the OpenAPI description is."""
    return cacheable(openreferral.api_details())


@bp.get("/services")
@checks_its_own_input
def services():
    filters, paging = openreferral.service_filters(request.args)
    return cacheable(openreferral.services(filters, paging))


@bp.get("/services/<service_id>")
def service(service_id: str):
    return cacheable(openreferral.service(service_id))


@bp.get("/service_at_locations")
@checks_its_own_input
def service_at_locations():
    filters, paging = openreferral.service_filters(request.args, places=True)
    return cacheable(openreferral.service_at_locations(filters, paging))


@bp.get("/taxonomies")
@checks_its_own_input
def taxonomies():
    return cacheable(openreferral.taxonomies(openreferral.paging(request.args)))


@bp.get("/taxonomy_terms")
@checks_its_own_input
def taxonomy_terms():
    taxonomy_key, paging = openreferral.term_filter(request.args)
    return cacheable(openreferral.taxonomy_terms(taxonomy_key, paging))


@bp.get("/openapi.json")
def openapi():
    return cacheable(openreferral.Answer(openapi_document()))
