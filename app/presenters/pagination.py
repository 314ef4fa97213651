"""Parameters for the GOV.UK pagination component, keeping the current query string."""

from __future__ import annotations

from flask import request, url_for

from app.services.pagination import Page


def _href(number: int) -> str:
    args = dict(request.view_args or {})
    query = request.args.to_dict()
    query["page"] = number
    return url_for(request.endpoint, **args, **query)


def pagination_params(page: Page) -> dict:
    items: list[dict] = []
    for number in range(1, page.pages + 1):
        if number in (1, page.pages) or abs(number - page.page) <= 2:
            items.append({"number": number, "href": _href(number), "current": number == page.page})
        elif abs(number - page.page) == 3:
            items.append({"ellipsis": True})
    return {
        "previous": {"href": _href(page.page - 1)} if page.has_previous else None,
        "next": {"href": _href(page.page + 1)} if page.has_next else None,
        "items": items,
    }
