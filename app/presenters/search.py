"""Search results for people (facet labels with counts, links that keep the search) and
for machines (the JSON API)."""

from __future__ import annotations

from collections.abc import Callable

from flask import request, url_for
from markupsafe import Markup

from app.formatting import format_distance
from app.presenters.fragments import rendered
from app.presenters.pagination import passable
from app.services.search import DAY_VALUES, FacetValue, ResultItem, SearchResults

# GOV.UK component parameters for the search form's fields. The page calls the GOV.UK
# macros once each with these, rather than rendering a template per field through
# govuk-frontend-wtf (ten nested template renders made up most of the page's time).


def _with(params: dict, extra: dict) -> dict:
    """``params`` with ``extra`` merged in (one level deep for dictionaries)."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key] = {**params[key], **value}
        else:
            params[key] = value
    return params


def _common(field) -> dict:
    params = {"id": field.id, "name": field.name}
    if field.errors:
        params["errorMessage"] = {"text": field.errors[0]}
    return params


def input_params(field, **extra) -> dict:
    params = _common(field)
    params.update(label={"text": field.label.text}, value=field._value(), type="text")
    if field.description:
        params["hint"] = {"text": field.description}
    return _with(params, extra)


def select_params(field, **extra) -> dict:
    params = _common(field)
    value = field.data if field.data is not None else field.default
    params.update(
        label={"text": field.label.text}, items=[{"text": label, "value": v, "selected": v == str(value)} for v, label in field.choices]
    )
    if field.description:
        params["hint"] = {"text": field.description}
    return _with(params, extra)


def choice_params(field, counts: list[FacetValue] | None = None, **extra) -> dict:
    """Radios or checkboxes: each choice labelled with the number of results it would give
    ('Home care (12)'), when counts are known."""
    params = _common(field)
    del params["id"]
    chosen = field.data if isinstance(field.data, (list, tuple)) else [field.data if field.data is not None else field.default]
    chosen = {str(v) for v in chosen if v is not None}
    by_value = {v.value: v.count for v in counts or ()}
    items = []
    for number, (value, label) in enumerate(field.choices, start=1):
        text = f"{label} ({by_value[value]:,})" if value and value in by_value else label
        item = {"text": text, "value": value, "id": f"{field.name}-{number}" if number > 1 else field.name}  # as GOV.UK numbers them
        if value in chosen:
            item["checked"] = True
        items.append(item)
    params.update(items=items, hint={"text": field.description}, fieldset={"legend": {"text": field.label.text}})
    return _with(params, extra)


def flag_params(field, label: str, **extra) -> dict:
    """A single checkbox (``framework_only``)."""
    params = _common(field)
    del params["id"]
    item = {"text": label, "value": "true", "id": field.name}
    if field.data:
        item["checked"] = True
    params.update(items=[item], hint={"text": field.description})
    return _with(params, extra)


def filter_choices(kind: str, params: dict) -> Markup:
    """A filter's radios or checkboxes ('radios' or 'checkboxes', with choice_params or
    flag_params), as the ``choices`` macro of public/_search_form.html renders them, kept for
    the same choices, counts and errors: the filters are the largest part of the search
    page, and the next page of the same search shows the same ones."""
    return rendered("public/_search_form.html", "choices", kind, params)


def search_error_list(form) -> list[dict]:
    """The GOV.UK error summary's list, in the form's order: each field's error links to
    the field; an error with no field to fix (the page number) is plain text."""
    items = [{"text": field.errors[0], "href": f"#{field.id}"} for field in form if field.errors]
    return items + [{"text": message} for message in form.form_errors]


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
    return url_for("public.search_page", **passable(args))


def service_hrefs() -> Callable[[int], str]:
    """url_for('public.service', service_id=n) for a page of services: the URL is built
    once with a stand-in id (url_for is slow, and a page has many links)."""
    stand_in = 987654321
    head, _, tail = url_for("public.service", service_id=stand_in).partition(str(stand_in))
    return lambda service_id: f"{head}{int(service_id)}{tail}"


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
        "reviews": {"count": item.review_count, "average": float(item.review_average) if item.review_average else None},
        "funding": [route.value for route in item.funding_routes],
        "days": [DAY_VALUES[d] for d in item.days],
        "supports": [group.value for group in item.supports],
        "framework": item.rank.as_dict() if item.rank else None,
        "matches_every_word": item.every_word,
        "meets": list(item.meets),
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
        "corrected_to": results.corrected_to,
        "location": ({"postcode_district": results.location.district, "town": results.location.town} if results.location else None),
        "results": [result_json(item) for item in page.items],
        "every_word_total": results.every_word_total,
        "broader": (
            {"query": results.broader.params.as_args(), "total": results.broader.total, "change": results.broader.change}
            if results.broader
            else None
        ),
        "facets": results.facets.as_dict(),
    }
