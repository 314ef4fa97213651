"""Parameters for the GOV.UK pagination component, keeping the current query string."""

from __future__ import annotations

from collections.abc import Callable

from flask import request, url_for

from app.services.pagination import Page


def passable(query: dict, view_args: dict | None = None) -> dict:
    """The query parameters a link can pass on through url_for: one named like a path part
    or like url_for's own arguments (endpoint, _external...) means nothing to our pages."""
    view_args = view_args or {}
    return {k: v for k, v in query.items() if k not in view_args and not k.startswith("_") and k not in ("endpoint", "values")}


_STAND_IN = "987654321"


def _href(number: int | str) -> str:
    args = dict(request.view_args or {})
    query = request.args.to_dict(flat=False)  # every value of a repeated parameter (day=saturday&day=sunday)
    query["page"] = [str(number)]
    return url_for(request.endpoint, **args, **passable(query, args))


def _hrefs() -> Callable[[int], str]:
    """_href for each page number, from one URL built with a stand-in number (url_for is
    slow, and a page has up to nine such links)."""
    url = _href(_STAND_IN)
    if url.count(_STAND_IN) != 1:  # the stand-in was typed into the address too
        return _href
    head, _, tail = url.partition(_STAND_IN)
    return lambda number: f"{head}{number}{tail}"


def pagination_params(page: Page) -> dict:
    """The first and last pages, two either side of this one, and an ellipsis for each gap
    (worked out from those few numbers: a broad search has thousands of pages)."""
    href = _hrefs()
    shown = sorted({1, page.pages} | set(range(max(1, page.page - 2), min(page.pages, page.page + 2) + 1)))
    items: list[dict] = []
    previous = 0
    for number in shown:
        if number - previous > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page.page})
        previous = number
    return {
        "previous": {"href": href(page.page - 1)} if page.has_previous else None,
        "next": {"href": href(page.page + 1)} if page.has_next else None,
        "items": items,
    }
