"""The profile's page object (openapi.json, components/schemas/Page): the contents of one
page and where it stands among the others."""

from __future__ import annotations

import math
from collections.abc import Sequence

from app.services.openreferral.params import Paging


def page(contents: Sequence[dict], total: int, paging: Paging) -> dict:
    """A page past the last is not an error: it is empty, and says how many there are.
    ``size`` is how many are on this page, as the profile defines it."""
    total_pages = math.ceil(total / paging.per_page)
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": paging.page,
        "size": len(contents),
        "first_page": paging.page == 1,
        "last_page": paging.page >= total_pages,
        "empty": not contents,
        "contents": list(contents),
    }


def cut(items: Sequence, paging: Paging) -> list:
    """One page of a short list held in full (taxonomies, their terms)."""
    start = (paging.page - 1) * paging.per_page
    return list(items[start : start + paging.per_page])
