"""The in-memory snapshot of one index generation, which every search in a process reads.

An edit adds a small segment and marks old documents deleted, so a new snapshot only
reads the new segment's documents (segment.py) and joins the segments' columns end to
end. Sets of documents are bitsets (bitsets.py): for each word and filter, made from the
segments' own cached bitsets and kept for the generation.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeVar

from app.models import CQCRating, FundingRoute, PeopleGroup
from app.services import ranking
from app.services.search import bitsets
from app.services.search.cache import LRU
from app.services.search.params import REVIEW_SORT_WEIGHT
from app.services.search.schema import A_REVIEWS, A_SUPPORTS, FUNDING_BITS, RATING_CODES, TEXT_FIELDS, groups_of
from app.services.search.scoring import NO_QUALITY
from app.services.search.segment import Segment, shifted

T = TypeVar("T")


class Snapshot:
    """Everything a search needs about one generation of the index: the segments' columns
    joined end to end (cheap: bytes and arrays), which documents are live, and caches of
    bitsets for this generation, each made from the segments' own cached bitsets."""

    def __init__(self, generation: int, searcher, leaves: list[tuple[Segment, int, object]]):
        self.generation = generation
        self.searcher = searcher
        self.leaves = leaves
        self.size = sum(seg.size for seg, _, _ in leaves)
        self.deleted: list[frozenset[int]] = []
        dead = []
        for seg, offset, reader in leaves:
            deleted = frozenset(reader.deleted_docs_set) if reader.has_deletions() else frozenset()
            self.deleted.append(deleted)
            dead.extend(offset + d for d in deleted)
            dead.extend(offset + n for n in seg.missing)
        self.live = bitsets.full(self.size) & ~bitsets.from_positions(dead, self.size) if dead else bitsets.full(self.size)
        self.attrs = list(itertools.chain.from_iterable(seg.attrs for seg, _, _ in leaves))
        self.prices = _joined(array("q"), (seg.prices for seg, _, _ in leaves))
        self.ids = _joined(array("q"), (seg.ids for seg, _, _ in leaves))
        self.first_lot = _joined(array("q"), (seg.first_lot for seg, _, _ in leaves))
        self.quality = b"".join(seg.quality for seg, _, _ in leaves)
        self.count = self.live.bit_count()
        self.cache = LRU(2048)
        self._rankings: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._deleted_totals: dict | None = None
        self._review_keys: array | None = None

    def ranking(self, lots: Mapping[int, ranking.LotInfo], make: Callable[[Snapshot, Mapping[int, ranking.LotInfo]], T]) -> T:
        """Ranks and order for the lots' current settings (read from the database for
        each search: a change of weights needs no rewriting of the index), made by
        ``make(self, lots)`` once for each state of the settings and kept for the last four."""
        key = tuple(lots[lot_id] for lot_id in sorted(lots))
        with self._lock:
            found = self._rankings.get(key)
            if found is None:
                found = self._rankings[key] = make(self, lots)
                while len(self._rankings) > 4:
                    self._rankings.popitem(last=False)
            return found

    def deleted_totals(self) -> dict:
        """What the deleted documents took with them: per lot (rated quality total, rated
        count, members, review rating total, review count), and over everything (rated
        quality total, rated count; review rating total, review count)."""
        if self._deleted_totals is None:
            lots: dict[int, list[int]] = {}
            rated = [0, 0]
            reviews = [0, 0]
            for (seg, _, _), deleted in zip(self.leaves, self.deleted):
                for n in deleted:
                    q = seg.quality[n]
                    lot = seg.first_lot[n]
                    if lot:
                        entry = lots.setdefault(lot, [0, 0, 0, 0, 0])
                        entry[2] += 1
                        entry[3] += seg.attrs[n][A_REVIEWS][0]
                        entry[4] += seg.attrs[n][A_REVIEWS][1]
                        if q != NO_QUALITY:
                            entry[0] += q
                            entry[1] += 1
                    if q != NO_QUALITY and seg.ids[n]:
                        rated[0] += q
                        rated[1] += 1
                    if seg.ids[n]:
                        reviews[0] += seg.attrs[n][A_REVIEWS][0]
                        reviews[1] += seg.attrs[n][A_REVIEWS][1]
            self._deleted_totals = {"lots": {k: tuple(v) for k, v in lots.items()}, "rated": tuple(rated), "reviews": tuple(reviews)}
        return self._deleted_totals

    def cached(self, key, make: Callable[[], int]) -> int:
        return self.cache.get(key, make)

    def combined(self, key, make: Callable[[Segment], int]) -> int:
        """A bitset of this generation from each segment's own (cached for its life)."""

        def build() -> int:
            bits = 0
            for seg, offset, _ in self.leaves:
                seg_bits = seg.bits(key, make)
                if seg_bits:
                    bits |= seg_bits << offset
            return bits & self.live

        return self.cache.get(key, build)

    # Bitsets ------------------------------------------------------------------------------

    def term(self, fieldname: str, term: str) -> int:
        def make() -> int:
            bits = 0
            for seg, offset, reader in self.leaves:
                seg_bits = seg.term_bits(reader, fieldname, term)
                if seg_bits:
                    bits |= seg_bits << offset
            return bits & self.live

        return self.cached(("term", fieldname, term), make)

    def doc_frequency(self, term: str) -> int:
        return self.match_any(term).bit_count()

    def match_any(self, term: str) -> int:
        return self.cached(("any", term), lambda: bitsets.union(self.term(f, term) for f in TEXT_FIELDS))

    def phrase(self, fieldname: str, words: tuple[str, ...]) -> int:
        """Documents with the words next to each other in the field: each segment's own
        (kept for its life), so an edit only reads the phrase in its new small segment."""

        def make() -> int:
            bits = 0
            for seg, offset, reader in self.leaves:
                seg_bits = seg.phrase_bits(reader, fieldname, words)
                if seg_bits:
                    bits |= seg_bits << offset
            return bits & self.live

        return self.cached(("phrase", fieldname, words), make)

    def lexicon(self, fieldname: str) -> list[str]:
        def make():
            words: set[str] = set()
            for seg, _, reader in self.leaves:
                words |= seg.words(reader, fieldname)
            return sorted(words)

        return self.cache.get(("lexicon", fieldname), make)

    def category(self, slug: str) -> int:
        return self.combined(("category", slug), lambda seg: seg.category_bits(slug))

    def funding(self, route: FundingRoute) -> int:
        bit = FUNDING_BITS[route]
        return self.combined(("funding", bit), lambda seg: bitsets.from_byte_column(seg.col_funding, {v for v in range(256) if v & bit}))

    def day(self, day: int) -> int:
        bit = 1 << day
        return self.combined(("day", day), lambda seg: bitsets.from_byte_column(seg.col_days, {v for v in range(256) if v & bit}))

    def supports(self, group: PeopleGroup) -> int:
        """Services whose provider says they support this group of people."""
        return self.combined(("supports", group.value), lambda seg: seg.supports_bits(group))

    def groups_supported(self, n: int) -> tuple[PeopleGroup, ...]:
        """The groups of people document ``n`` supports, in the order people see them."""
        return groups_of(self.attrs[n][A_SUPPORTS])

    def rating_at_least(self, rating: CQCRating) -> int:
        code = RATING_CODES[rating]
        return self.combined(("rating", code), lambda seg: bitsets.from_byte_column(seg.col_rating, set(range(code, 5))))

    def review_at_least(self, stars: int) -> int:
        """Services whose reviews average ``stars`` or more, as the average is shown."""
        return self.combined(("review", stars), lambda seg: bitsets.from_byte_column(seg.col_review, set(range(10 * stars, 51))))

    def review_keys(self) -> array:
        """Each document's place in the order "reviews, highest first" (smaller first): a
        Bayesian average of its reviews, weighed with the average of every listed service's
        reviews as if that were REVIEW_SORT_WEIGHT reviews more, so a couple of 5-star
        reviews do not outrank many 4.8s; services with no reviews after all that have."""
        with self._lock:
            if self._review_keys is None:
                self._review_keys = self._make_review_keys()
            return self._review_keys

    def _make_review_keys(self) -> array:
        removed = self.deleted_totals()["reviews"]
        total = sum(seg.reviews[0] for seg, _, _ in self.leaves) - removed[0]
        count = sum(seg.reviews[1] for seg, _, _ in self.leaves) - removed[1]
        # Each segment keeps its keys for this overall average: an edit that leaves the
        # reviews as they were (most edits) reuses every large segment's keys.
        return _joined(array("q"), (seg.review_keys(REVIEW_SORT_WEIGHT, total, count) for seg, _, _ in self.leaves))

    def rating_exactly(self, code: int) -> int:
        return self.combined(("rating=", code), lambda seg: bitsets.from_byte_column(seg.col_rating, {code}))

    def max_price(self, pence: int) -> int:
        return self.combined(("price", pence), lambda seg: seg.price_bits(pence))

    def near(self, district: str, radius: int, distances: Mapping[str, float], version: int = 0) -> int:
        """Services whose provider is based within ``radius`` miles of the district, or
        lists it among its areas, or covers it with its own service radius."""
        return self.combined(("near", district, radius, version), lambda seg: seg.near_bits(district, radius, distances))

    def by_price(self) -> Iterator[tuple[int, int]]:
        """(price, document) for every document, cheapest first, merged from the segments."""
        runs = [zip(seg.sorted_prices, shifted(seg.by_price, offset)) for seg, offset, _ in self.leaves]
        return heapq.merge(*runs)


def _joined(empty: array, parts: Iterable[array]) -> array:
    out = empty
    for part in parts:
        out += part
    return out
