"""Facet counts: for each filter, how many results each of its choices would give, counted
with every other filter applied but its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.models import CQCRating, FundingRoute, PeopleGroup
from app.services.search.params import SearchParams
from app.services.search.ranks import Ranks
from app.services.search.snapshot import Snapshot


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facets:
    category: list[FacetValue]
    funding: list[FacetValue]
    day: list[FacetValue]
    min_cqc_rating: list[FacetValue]
    framework_only: FacetValue
    min_review_rating: list[FacetValue]
    supports: list[FacetValue]

    def as_dict(self) -> dict:
        def values(items):
            return [{"value": v.value, "label": v.label, "count": v.count, "selected": v.selected} for v in items]

        return {
            "category": values(self.category),
            "funding": values(self.funding),
            "day": values(self.day),
            "min_cqc_rating": values(self.min_cqc_rating),
            "framework_only": values([self.framework_only])[0],
            "min_review_rating": values(self.min_review_rating),
            "supports": values(self.supports),
        }


RATING_FACET_LABELS = {
    CQCRating.OUTSTANDING: "Outstanding",
    CQCRating.GOOD: "Good or better",
    CQCRating.REQUIRES_IMPROVEMENT: "Requires improvement or better",
    CQCRating.INADEQUATE: "Any CQC rating",
}
REVIEW_FACET_LABELS = {4: "4 stars or more", 3: "3 stars or more", 2: "2 stars or more", 1: "Has reviews"}
DAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def facets(snap: Snapshot, ranks: Ranks, params: SearchParams, categories, without: Callable[[str | None], int], matched: int) -> Facets:
    """The facets of a search whose results are ``matched``; ``without(name)`` gives its
    results with every filter applied but ``name``."""
    base = without("category")
    category = [
        FacetValue(slug, name, (base & snap.category(slug)).bit_count() if base else 0, slug == params.category)
        for slug, name in categories
    ]
    base = without("funding")
    funding = [FacetValue(r.value, r.label, (base & snap.funding(r)).bit_count() if base else 0, r is params.funding) for r in FundingRoute]
    day = [
        FacetValue(DAY_LABELS[d].lower(), DAY_LABELS[d], (matched & snap.day(d)).bit_count() if matched else 0, d in params.days)
        for d in range(7)
    ]
    base = without("rating")
    rating = [
        FacetValue(r.value, RATING_FACET_LABELS[r], (base & snap.rating_at_least(r)).bit_count() if base else 0, r is params.min_cqc_rating)
        for r in (CQCRating.OUTSTANDING, CQCRating.GOOD, CQCRating.REQUIRES_IMPROVEMENT, CQCRating.INADEQUATE)
    ]
    base = without("framework")
    framework = FacetValue(
        "true", "Council framework providers only", (base & ranks.framework()).bit_count() if base else 0, params.framework_only
    )
    base = without("reviews")
    reviews = [
        FacetValue(str(stars), label, (base & snap.review_at_least(stars)).bit_count() if base else 0, stars == params.min_review_rating)
        for stars, label in REVIEW_FACET_LABELS.items()
    ]
    base = without("supports")
    supports = [
        FacetValue(g.value, g.label, (base & snap.supports(g)).bit_count() if base else 0, g is params.supports) for g in PeopleGroup
    ]
    return Facets(category, funding, day, rating, framework, reviews, supports)
