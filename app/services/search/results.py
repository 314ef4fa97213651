"""One search, start to end: the words and filters as bitsets over the current snapshot,
their intersections giving the results, totals and facet counts; then the few results of
the page, in order, as result items drawn from the index alone (so what a card says
always agrees with the filters and the order it was found by).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from app.models import CQCRating, FundingRoute, PriceUnit
from app.services import ranking
from app.services.errors import ValidationError
from app.services.geo import miles_between
from app.services.pagination import Page
from app.services.search import bitsets
from app.services.search.engines import engine
from app.services.search.evaluate import Evaluator
from app.services.search.facets import Facets, facets
from app.services.search.ordering import page_of
from app.services.search.params import PER_PAGE, SearchParams
from app.services.search.query import parse, root_with_synonyms
from app.services.search.ranks import Ranks, lot_settings, ranks_for
from app.services.search.reference import category_choices, districts, reference_errors
from app.services.search.schema import (
    A_BASE,
    A_CATEGORY,
    A_DAYS,
    A_FUNDING,
    A_ID,
    A_MIN_UNITS,
    A_PRICE,
    A_PROVIDER,
    A_PROVIDER_ID,
    A_RATINGS,
    A_REGULATED,
    A_REVIEWS,
    A_TITLE,
    A_UNIT,
    FUNDING_BITS,
    rating_of,
)
from app.services.search.snapshot import Snapshot
from app.services.search.suggest import did_you_mean


@dataclass(frozen=True)
class ResultItem:
    service_id: int
    title: str
    provider_id: int
    provider_name: str
    category_slug: str
    category_name: str
    price_pence: int
    price_unit: PriceUnit
    min_units: int
    cqc_rating: CQCRating | None
    cqc_regulated: bool
    funding_routes: tuple[FundingRoute, ...]
    days: tuple[int, ...]
    distance_miles: float | None
    covers_your_area: bool  # served through its listed areas or own radius, beyond the distance asked
    rank: ranking.ServiceRank | None
    review_count: int = 0  # its published reviews
    review_sum: int = 0

    @property
    def review_average(self) -> str | None:
        """'4.6' (one decimal place, halves up); None with no reviews."""
        return ranking.format_average(self.review_sum, self.review_count) if self.review_count else None


@dataclass(frozen=True)
class Location:
    postcode: str
    district: str
    town: str


@dataclass
class SearchResults:
    params: SearchParams
    page: Page[ResultItem]
    facets: Facets
    did_you_mean: str | None
    location: Location | None

    @property
    def total(self) -> int:
        return self.page.total

    @property
    def items(self) -> Sequence[ResultItem]:
        return self.page.items


def search(params: SearchParams, *, index_dir: str | None = None, categories: list[tuple[str, str]] | None = None) -> SearchResults:
    """Run one search. Raises ValidationError for an unknown postcode district or
    category (both named at once), SearchUnavailable when there is no index to search.
    ``categories``: category_choices(), if the caller has them already."""
    categories = categories or category_choices()
    errors = reference_errors({"category": params.category, "postcode": params.postcode}, categories=categories)
    if errors:
        raise ValidationError(errors)
    location, distances = _location(params)

    eng = engine(index_dir)
    eng.catch_up()
    snap = eng.snapshot()
    ranks = ranks_for(snap, lot_settings())
    evaluator = Evaluator(snap)
    node = root_with_synonyms(parse(params.q))
    text_match = evaluator.run(node).match & snap.live
    filters = _filters(snap, ranks, params, location, distances)

    def without(name: str | None) -> int:
        bits = text_match
        for key, value in filters.items():
            if key != name:
                bits &= value
                if not bits:
                    break
        return bits

    matched = without(None)
    total = matched.bit_count()

    facet_counts = facets(snap, ranks, params, categories, without, matched)
    suggestion = did_you_mean(snap, evaluator, params.q, total) if params.q else None

    per_page = PER_PAGE
    skip = (params.page - 1) * per_page
    docnums = page_of(snap, ranks, evaluator, node, matched, params, distances, skip, per_page)
    names = dict(categories)
    items = [_item(snap, ranks, n, params, location, distances, names) for n in docnums]
    return SearchResults(
        params=params,
        page=Page(items=items, total=total, page=params.page, per_page=per_page),
        facets=facet_counts,
        did_you_mean=suggestion,
        location=location,
    )


def _location(params: SearchParams) -> tuple[Location | None, dict[str, float] | None]:
    """Where the search is from, and every district's distance from there in miles."""
    if not params.postcode:
        return None, None
    outward = params.postcode.split()[0]
    rows = districts().get()
    lat, lon, town = rows[outward]
    distances = {code: miles_between(lat, lon, dlat, dlon) for code, (dlat, dlon, _) in rows.items()}
    return Location(params.postcode, outward, town), distances


def _filters(snap: Snapshot, ranks: Ranks, params: SearchParams, location: Location | None, distances) -> dict[str, int]:
    """Each filter asked for, as a bitset (facets count with every filter but their own)."""
    filters: dict[str, int] = {}
    if params.category:
        filters["category"] = snap.category(params.category)
    if location is not None:
        filters["near"] = snap.near(location.district, params.radius_miles, distances, districts().version)
    if params.max_price_pence is not None:
        filters["price"] = snap.max_price(params.max_price_pence)
    if params.min_cqc_rating is not None:
        filters["rating"] = snap.rating_at_least(params.min_cqc_rating)
    if params.min_review_rating is not None:
        filters["reviews"] = snap.review_at_least(params.min_review_rating)
    if params.funding is not None:
        filters["funding"] = snap.funding(params.funding)
    if params.days:
        filters["day"] = bitsets.intersection(snap.day(d) for d in params.days)
    if params.framework_only:
        filters["framework"] = ranks.framework()
    return filters


def _item(
    snap: Snapshot, ranks: Ranks, n: int, params: SearchParams, location: Location | None, distances, category_names: Mapping[str, str]
) -> ResultItem:
    a = snap.attrs[n]
    distance = None
    covers = False
    if location is not None and distances is not None and a[A_BASE]:
        distance = distances.get(a[A_BASE])
        covers = distance is None or distance > params.radius_miles
    slug = a[A_CATEGORY]
    return ResultItem(
        service_id=a[A_ID],
        title=a[A_TITLE],
        provider_id=a[A_PROVIDER_ID],
        provider_name=a[A_PROVIDER],
        category_slug=slug,
        category_name=category_names.get(slug, slug),
        price_pence=a[A_PRICE],
        price_unit=PriceUnit(a[A_UNIT]),
        min_units=a[A_MIN_UNITS],
        cqc_rating=rating_of(a[A_RATINGS][0]),
        cqc_regulated=a[A_REGULATED],
        funding_routes=tuple(r for r in FundingRoute if a[A_FUNDING] & FUNDING_BITS[r]),
        days=tuple(d for d in range(7) if a[A_DAYS] >> d & 1),
        distance_miles=round(distance, 1) if distance is not None else None,
        covers_your_area=covers,
        rank=ranks.rank(n),
        review_sum=a[A_REVIEWS][0],
        review_count=a[A_REVIEWS][1],
    )
