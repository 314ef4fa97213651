"""Search results for people (facet labels with counts, links that keep the search) and
for machines (the JSON API)."""

from __future__ import annotations

from flask import request, url_for

from app.presenters.formatting import format_distance
from app.services.search import FacetValue, ResultItem, SearchResults
from app.services.search_params import DAY_VALUES


def facet_items(choices, values: list[FacetValue] | None) -> list[dict]:
    """Labels for a form field's options with the number of results each would give:
    'Home care (12)'. The 'any' option keeps its own label."""
    counts = {v.value: v.count for v in values or ()}
    items = []
    for value, label in choices:
        if value and value in counts:
            items.append({"text": f"{label} ({counts[value]:,})"})
        else:
            items.append({})
    return items


def search_url(**changes) -> str:
    """This search's URL with some parameters changed (None removes one); a changed
    search starts again from page 1."""
    args = request.args.to_dict(flat=False)
    if "page" not in changes:
        args.pop("page", None)
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value
    return url_for("public.search_page", **args)


def distance_text(item: ResultItem, district: str | None) -> str:
    if item.distance_miles is None:
        return ""
    text = f"{format_distance(item.distance_miles)} away"
    if item.covers_your_area and district:
        text += f", covers {district}"
    return text


def result_json(item: ResultItem) -> dict:
    return {
        "id": item.service_id,
        "url": url_for("public.service", service_id=item.service_id, _external=False),
        "title": item.title,
        "provider": {"id": item.provider_id, "name": item.provider_name},
        "category": {"slug": item.category_slug, "name": item.category_name},
        "price_pence": item.price_pence,
        "unit": item.price_unit.value,
        "min_units": item.min_units,
        "distance_miles": item.distance_miles,
        "covers_your_area": item.covers_your_area,
        "cqc_rating": item.cqc_rating.value if item.cqc_rating else None,
        "funding": [route.value for route in item.funding_routes],
        "days": [DAY_VALUES[d] for d in item.days],
        "framework": item.rank.as_dict() if item.rank else None,
    }


def results_json(results: SearchResults) -> dict:
    page = results.page
    return {
        "total": page.total,
        "page": page.page,
        "pages": page.pages,
        "per_page": page.per_page,
        "query": results.params.as_args(),
        "did_you_mean": results.did_you_mean,
        "location": (
            {"postcode_district": results.location.district, "town": results.location.town}
            if results.location
            else None
        ),
        "results": [result_json(item) for item in page.items],
        "facets": results.facets.as_dict(),
    }
