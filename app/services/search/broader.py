"""When a search finds nothing: the nearest broader search that finds something.

Broadening goes from the smallest change to the largest, and stops at the first that finds
anything: a wider distance (the next few choices, then the widest), then the same search
without its filters (price, ratings, reviews, way of paying, days, framework), then in any
type of support, then anywhere (without the postcode). The words are never dropped: what
the person asked for is what they need, and the council's contact details are offered
beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from app.services.search.params import DEFAULT_RADIUS_MILES, RADIUS_CHOICES, SearchParams, Sort

RADIUS_STEPS = 3  # wider distances tried before the widest


@dataclass(frozen=True)
class Broader:
    params: SearchParams
    total: int
    change: str  # what was changed, in words: "within 20 miles", "without the filters"


def _filtered(params: SearchParams) -> bool:
    return bool(
        params.max_price_pence is not None
        or params.min_cqc_rating
        or params.min_review_rating
        or params.funding
        or params.days
        or params.framework_only
        or params.supports
    )


def _candidates(params: SearchParams) -> Iterator[tuple[SearchParams, str]]:
    base = replace(params, page=1, sort=Sort.BEST_MATCH if params.sort is Sort.DISTANCE else params.sort)
    if params.postcode:
        wider = [r for r in RADIUS_CHOICES if r > params.radius_miles]
        for radius in [*wider[:RADIUS_STEPS], *wider[RADIUS_STEPS:][-1:]]:
            yield replace(base, radius_miles=radius, sort=params.sort), f"within {radius} miles"
    if _filtered(params):
        unfiltered = replace(
            base,
            max_price_pence=None,
            min_cqc_rating=None,
            min_review_rating=None,
            funding=None,
            days=(),
            framework_only=False,
            supports=None,
        )
        yield unfiltered, "without the filters"
        base = unfiltered
    if params.category:
        base = replace(base, category=None)
        yield base, "in any type of support"
    if params.postcode:
        yield replace(base, postcode=None, radius_miles=DEFAULT_RADIUS_MILES), "anywhere in the area"


def nearest_broader(params: SearchParams, count: Callable[[SearchParams], int]) -> Broader | None:
    """The first broader search that finds something (``count`` gives a search's total),
    or None when nothing broader does."""
    for candidate, change in _candidates(params):
        total = count(candidate)
        if total:
            return Broader(candidate, total, change)
    return None
