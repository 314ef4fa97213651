from __future__ import annotations

from flask import jsonify, request

from app.api import bp
from app.api.openapi import openapi_document
from app.errors import json_error
from app.models import SearchChannel
from app.presenters.search import results_json
from app.security import checks_its_own_input
from app.services import search
from app.services.errors import ValidationError
from app.services.search import log as search_log


@bp.get("/services")
@checks_its_own_input
def services():
    """Search listed services: the same parameters, results and order as /search. A page
    past the last answers an empty page, with the total and number of pages."""
    try:
        params = search.params_from_args(request.args)
        results = search.search(params)
    except ValidationError as exc:
        return json_error(400, "Invalid parameters", "Some parameters are not valid: see fields.", fields=exc.errors)
    except search.SearchUnavailable as exc:
        return json_error(503, "Search unavailable", str(exc))
    return search_log.record_after(jsonify(results_json(results)), params, results.total, SearchChannel.API)


@bp.get("/openapi.json")
def openapi():
    categories = [slug for slug, _name in search.category_choices()]
    return jsonify(openapi_document(categories=categories, districts=search.known_districts()))
