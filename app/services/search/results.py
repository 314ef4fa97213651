"""One search, start to end: the words and filters as bitsets over the current snapshot,
their intersections giving the results, totals and facet counts; then the few results of
the page, in order, as result items drawn from the index alone (so what a card says
always agrees with the filters and the order it was found by).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from app.models import CQCRating, FundingRoute, PeopleGroup, PriceUnit
from app.services import ranking
from app.services.errors import ValidationError
from app.services.pagination import Page
from app.services.search import bitsets
from app.services.search.broader import Broader, nearest_broader
from app.services.search.council_words import vocabulary_now
from app.services.search.engines import engine
from app.services.search.evaluate import Evaluator
from app.services.search.facets import Facets, facets
from app.services.search.needs import Vocabulary
from app.services.search.ordering import page_of
from app.services.search.params import PER_PAGE, SearchParams
from app.services.search.partial import by_words_matched, page_across
from app.services.search.query import Node, has_syntax, parse, root_with_synonyms
from app.services.search.ranks import Ranks, lot_settings, ranks_for
from app.services.search.reference import DistancesFrom, category_choices, districts, reference_errors
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
from app.services.search.storage import SearchUnavailable
from app.services.search.suggest import did_you_mean
from app.services.search.understanding import needs_in, understand


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
    every_word: bool = True  # False: it matches most of the words searched for, not all
    meets: tuple[str, ...] = ()  # the needs searched for that it meets ("help with washing and bathing")
    supports: tuple[PeopleGroup, ...] = ()  # who its provider says it supports

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
    every_word_total: int = 0  # the results that match every word; any after them match most
    broader: Broader | None = None  # when nothing is found: the nearest broader search that finds something
    corrected_to: str | None = None  # nothing was found for the words as typed: these are the results for this spelling

    @property
    def some_words_from(self) -> int | None:
        """The index on this page of the first result matching only some of the words."""
        return next((i for i, item in enumerate(self.items) if not item.every_word), None)

    @property
    def total(self) -> int:
        return self.page.total

    @property
    def items(self) -> Sequence[ResultItem]:
        return self.page.items


def search(
    params: SearchParams,
    *,
    index_dir: str | None = None,
    categories: list[tuple[str, str]] | None = None,
    correct: bool = True,
    broaden: bool = True,
) -> SearchResults:
    """Run one search. Raises ValidationError for an unknown postcode district or
    category (both named at once), SearchUnavailable when there is no index to search.
    ``categories``: category_choices(), if the caller has them already. When it finds
    nothing for the words as typed, the results are for a corrected spelling that finds
    something (``correct``); when nothing at all, the nearest broader search that finds
    something comes with it (``broaden``)."""
    categories = categories or category_choices()
    found = _Found.of(params, index_dir, categories)
    matched = found.parts[0]

    total = sum(part.bit_count() for part in found.parts)
    # (A search made only to count, for a corrected spelling or a broader search, needs none.)
    suggestion = did_you_mean(found.snap, found.evaluator, params.q, matched.bit_count()) if params.q and (correct or broaden) else None
    broader = None
    if not total:
        again = functools.partial(search, index_dir=index_dir, categories=categories, correct=False, broaden=False)
        corrected, broader = _instead(params, suggestion if correct else None, broaden, again)
        if corrected is not None:
            return corrected

    needs = [(found.evaluator.need(key).match, found.vocabulary.needs[key].label) for key in dict.fromkeys(needs_in(found.node))]
    shown = page_across(found.parts, (params.page - 1) * PER_PAGE, PER_PAGE, found.take)
    names = dict(categories)
    items = [_found(_item(found.snap, found.ranks, n, params, found.location, found.distances, names), part, n, needs) for part, n in shown]
    return SearchResults(
        params=params,
        page=Page(items=items, total=total, page=params.page, per_page=PER_PAGE),
        facets=facets(found.snap, found.ranks, params, categories, _without(found.text_match, found.filters), bitsets.union(found.parts)),
        did_you_mean=suggestion,
        location=found.location,
        every_word_total=matched.bit_count(),
        broader=broader,
    )


def _without(text_match: int, filters: dict[str, int]) -> Callable[[str | None], int]:
    """What the words match with every filter but one applied (for that filter's facet)."""

    def without(name: str | None) -> int:
        bits = text_match
        for key, value in filters.items():
            if key != name:
                bits &= value
                if not bits:
                    break
        return bits

    return without


def _instead(
    params: SearchParams, suggestion: str | None, broaden: bool, again: Callable[[SearchParams], SearchResults]
) -> tuple[SearchResults | None, Broader | None]:
    """For a search that found nothing: the results for a corrected spelling when the words
    as typed find nothing but it does; otherwise the nearest broader search (``broaden``)."""
    if suggestion and not has_syntax(params.q):
        corrected = again(replace(params, q=suggestion))
        if corrected.total:
            return replace(corrected, params=params, corrected_to=suggestion, did_you_mean=None), None
    if params.page == 1 and broaden:
        return None, nearest_broader(params, lambda wider: again(wider).total)
    return None, None


def _found(item: ResultItem, part: int, n: int, needs: list[tuple[int, str]]) -> ResultItem:
    """A result with how it matched: every word (the first part) or most, and the needs it meets."""
    return replace(item, every_word=part == 0, meets=tuple(label for bits, label in needs if bits >> n & 1))


def _matches(evaluator: Evaluator, node, text: str, filters: dict[str, int]) -> tuple[list[int], int]:
    """The results in the order they are shown, as parts: those matching every word, then
    (when fewer than a page do) those matching most of them, more words first; and what the
    words match before any filter (for the facets)."""
    live = evaluator.snap.live
    every_word = evaluator.run(node).match & live
    filtered = bitsets.intersection(filters.values()) if filters else live
    parts = [every_word & filtered]
    if not text or parts[0].bit_count() >= PER_PAGE:
        return parts, every_word
    most = by_words_matched(evaluator, node, text)
    parts += [bits & filtered for bits in most if bits & filtered]
    return parts, bitsets.union([every_word, *most])


def ids_in_order(params: SearchParams, *, index_dir: str | None = None) -> list[int]:
    """The ids of every service the search finds, in the order its pages show them (the
    words as typed: no corrected spelling, no broader search): for feeds that page and count
    in their own way. One pass over the index, however many there are."""
    found = _Found.of(params, index_dir, category_choices())
    total = sum(part.bit_count() for part in found.parts)
    return [found.snap.ids[n] for _, n in page_across(found.parts, 0, total, found.take)]


@dataclass
class _Found:
    """One search's working: the snapshot and ranks it reads, the query as understood, its
    filters, and what it found in the parts it shows (every word, then most of them)."""

    params: SearchParams
    snap: Snapshot
    ranks: Ranks
    vocabulary: Vocabulary
    evaluator: Evaluator
    node: Node
    location: Location | None
    distances: DistancesFrom | None
    filters: dict[str, int]
    parts: list[int]
    text_match: int

    @classmethod
    def of(cls, params: SearchParams, index_dir: str | None, categories: list[tuple[str, str]]) -> _Found:
        errors = reference_errors({"category": params.category, "postcode": params.postcode}, categories=categories)
        if errors:
            raise ValidationError(errors)
        location, distances = _location(params)
        eng = engine(index_dir)
        eng.catch_up()
        snap = eng.snapshot()
        ranks = ranks_for(snap, lot_settings())
        vocabulary = vocabulary_now()
        evaluator = Evaluator(snap, vocabulary)
        node = understand(root_with_synonyms(parse(params.q)), params.q, vocabulary)
        filters = _filters(snap, ranks, params, location, distances)
        parts, text_match = _matches(evaluator, node, params.q, filters)
        return cls(params, snap, ranks, vocabulary, evaluator, node, location, distances, filters, parts, text_match)

    def take(self, part: int, skip: int, limit: int) -> list[int]:
        """``limit`` of a part's listings after the first ``skip``, in the order asked for."""
        return page_of(self.snap, self.ranks, self.evaluator, self.node, part, self.params, self.distances, skip, limit)


def totals_now(phrases: Iterable[str]) -> dict[str, int]:
    """How many services a search for each of ``phrases`` shows now (no filters; a corrected
    spelling counts, as the person would see it). Empty without an index: nothing is known."""
    categories = category_choices()
    try:
        return {phrase: search(SearchParams(q=phrase), categories=categories, broaden=False).total for phrase in phrases}
    except SearchUnavailable:
        return {}


def _location(params: SearchParams) -> tuple[Location | None, DistancesFrom | None]:
    """Where the search is from, and every district's distance from there in miles."""
    if not params.postcode:
        return None, None
    outward = params.postcode.split()[0]
    rows = districts().get()
    lat, lon, town = rows[outward]
    return Location(params.postcode, outward, town), DistancesFrom(lat, lon, rows)


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
    if params.supports is not None:
        filters["supports"] = snap.supports(params.supports)
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
        supports=snap.groups_supported(n),
        review_count=a[A_REVIEWS][1],
    )
