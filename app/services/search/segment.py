"""One Whoosh segment as searching needs it, worked out once and kept for the segment's
life: its documents' stored facts as compact columns, its documents by place, by lot and
by price, and caches of bitsets and of framework orders.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence

from whoosh import query as wquery
from whoosh.matching.wrappers import FilterMatcher
from whoosh.searching import Searcher

from app.services import ranking
from app.services.search import bitsets
from app.services.search.analysis import CONCEPT_PREFIX
from app.services.search.cache import LRU
from app.services.search.schema import (
    A_AREAS,
    A_BASE,
    A_CATEGORY,
    A_DAYS,
    A_FUNDING,
    A_ID,
    A_LOTS,
    A_PRICE,
    A_PROVIDER,
    A_RADIUS,
    A_RATINGS,
    A_REVIEWS,
    A_SUPPORTS,
    A_UNIT,
    ATTR_COUNT,
    SUPPORTS_BITS,
    rating_of,
)
from app.services.search.scoring import NO_QUALITY, LotState, order_key

NO_REVIEWS_KEY = 1  # in the reviews order: after every reviewed document (their keys are below zero)

# What an unreadable document stores: no id, so it is never shown.
_EMPTY_ATTRS = (0, 0, "", "", "", 0, "hour", 1, 0, 0, (0,) * 6, False, None, None, (), (), (0, 0), 0)
# Who a document supports, a bit per group, kept as one byte column per 8 groups.
SUPPORTS_BYTES = (len(SUPPORTS_BITS) + 7) // 8


def _read_attrs(reader, size: int) -> list[tuple]:
    """Every document's stored facts, with the values many documents share held once."""
    intern_cache: dict = {}

    def shared(value):
        return intern_cache.setdefault(value, value)

    stored = getattr(reader, "_perdoc", None)
    read = stored.stored_fields if stored is not None else reader.stored_fields
    attrs = []
    for docnum in range(size):
        a = read(docnum).get("attrs")
        if a is None or len(a) != ATTR_COUNT:
            a = _EMPTY_ATTRS
        a = list(a)
        for i in (A_PROVIDER, A_CATEGORY, A_UNIT, A_RATINGS, A_BASE, A_AREAS, A_LOTS, A_REVIEWS):
            a[i] = shared(a[i] if not isinstance(a[i], list) else tuple(a[i]))
        attrs.append(tuple(a))
    return attrs


class Segment:
    """One Whoosh segment, read once and kept for as long as the segment lives (an edit
    adds a small segment and marks old documents deleted; it never changes a segment).

    Its documents' stored facts, as compact columns (bytes and arrays: cheap to join, and
    nothing for the garbage collector to walk), indexes by place and by lot, and caches of
    bitsets of its own document numbers (deleted documents included: the snapshot masks
    them out) and of framework orders for a given state of a lot."""

    def __init__(self, reader):
        self.id = reader.segment().segment_id()
        self.size = reader.doc_count_all()
        self.attrs = _read_attrs(reader, self.size)
        self._load_columns()
        self._index_lots()
        self._index_places()
        self._sort_by_price()
        self.terms = LRU(4096)
        self.cache = LRU(1024)
        # Lot orders are large (a key per member): keep the 24 used last (a few states of
        # each lot, and the runs of documents on no lot).
        self.runs = LRU(24)

    def _load_columns(self) -> None:
        attrs = self.attrs
        self.category_code = {slug: i + 1 for i, slug in enumerate(sorted({a[A_CATEGORY] for a in attrs if a[A_CATEGORY]})[:250])}
        code = self.category_code
        self.col_category = bytes(code.get(a[A_CATEGORY], 0) for a in attrs)
        self.col_funding = bytes(a[A_FUNDING] & 0xFF for a in attrs)
        self.col_days = bytes(a[A_DAYS] & 0x7F for a in attrs)
        self.col_rating = bytes(a[A_RATINGS][0] for a in attrs)
        self.col_supports = tuple(bytes(a[A_SUPPORTS] >> (8 * i) & 0xFF for a in attrs) for i in range(SUPPORTS_BYTES))
        quality_of: dict[tuple, int] = {}
        for ratings in {a[A_RATINGS] for a in attrs}:
            q = ranking.quality_from_ratings(rating_of(ratings[0]), tuple(rating_of(r) for r in ratings[1:]))
            quality_of[ratings] = NO_QUALITY if q is None else q
        self.quality = bytes(quality_of[a[A_RATINGS]] for a in attrs)
        # Reviews: the average shown on a card, in tenths of a star (0: no reviews), and the
        # segment's totals (sum of ratings, count), for the average over everything.
        self.col_review = bytes(review_tenths(*a[A_REVIEWS]) for a in attrs)
        self.reviews = (sum(a[A_REVIEWS][0] for a in attrs if a[A_ID]), sum(a[A_REVIEWS][1] for a in attrs if a[A_ID]))
        self.prices = array("q", (a[A_PRICE] for a in attrs))
        self.ids = array("q", (a[A_ID] for a in attrs))
        self.first_lot = array("q", (a[A_LOTS][0] if a[A_LOTS] else 0 for a in attrs))

    def _index_lots(self) -> None:
        # Lots: members (by the first lot of their category the provider is approved on, as
        # the ranking service does), members by price for each unit, rated totals, review
        # totals (sum of ratings, count).
        attrs = self.attrs
        lot_docs: dict[int, list[int]] = {}
        for n, lot in enumerate(self.first_lot):
            if lot:
                lot_docs.setdefault(lot, []).append(n)
        prices, quality = self.prices, self.quality
        self.lot_docs = {lot: array("q", docs) for lot, docs in lot_docs.items()}
        self.lot_units: dict[int, dict[str, array]] = {}
        self.lot_rated: dict[int, tuple[int, int]] = {}
        self.lot_reviews: dict[int, tuple[int, int]] = {}
        for lot, docs in lot_docs.items():
            by_unit: dict[str, list[int]] = {}
            for n in docs:
                by_unit.setdefault(attrs[n][A_UNIT], []).append(n)
            self.lot_units[lot] = {unit: array("q", sorted(ds, key=prices.__getitem__)) for unit, ds in by_unit.items()}
            rated = [quality[n] for n in docs if quality[n] != NO_QUALITY]
            self.lot_rated[lot] = (sum(rated), len(rated))
            self.lot_reviews[lot] = (sum(attrs[n][A_REVIEWS][0] for n in docs), sum(attrs[n][A_REVIEWS][1] for n in docs))
        rated_all = [q for q in quality if q != NO_QUALITY]
        self.rated = (sum(rated_all), len(rated_all))

    def _index_places(self) -> None:
        # Places: documents by their provider's base district, listed areas and own radius.
        self.base_docs: dict[str, list[int]] = {}
        self.area_docs: dict[str, list[int]] = {}
        self.radius_docs: dict[tuple[str, int], list[int]] = {}
        for n, a in enumerate(self.attrs):
            base, radius = a[A_BASE], a[A_RADIUS]
            if not a[A_ID]:
                continue
            if base:
                self.base_docs.setdefault(base, []).append(n)
                if radius:
                    self.radius_docs.setdefault((base, radius), []).append(n)
            for area in a[A_AREAS]:
                self.area_docs.setdefault(area, []).append(n)

    def _sort_by_price(self) -> None:
        # Every document by price (then id): for "cheapest first" and price limits.
        prices, ids, size = self.prices, self.ids, self.size
        self.by_price = array("q", sorted(range(size), key=lambda n: (prices[n], ids[n])))
        self.missing = [n for n in range(size) if not ids[n]]  # unreadable: never shown
        self.sorted_prices = array("q", (prices[n] for n in self.by_price))

    def term_bits(self, reader, fieldname: str, term: str) -> int:
        def make() -> int:
            try:
                matcher = reader.postings(fieldname, term)
            except Exception:  # TermNotFound and friends: no documents
                return 0
            if isinstance(matcher, FilterMatcher):
                matcher = matcher.child  # the raw postings, deleted documents included
            return bitsets.from_positions(matcher.all_ids(), self.size)

        return self.terms.get((fieldname, term), make)

    def phrase_bits(self, reader, fieldname: str, words: tuple[str, ...]) -> int:
        """This segment's documents with ``words`` next to each other in the field (a document
        deleted later is masked out by the snapshot)."""

        def make() -> int:
            try:
                docs = wquery.Phrase(fieldname, list(words)).docs(Searcher(reader, closereader=False))
                return bitsets.from_positions(list(docs), self.size)
            except Exception:  # a field or word this segment lacks: no documents
                return 0

        return self.terms.get(("phrase", fieldname, words), make)

    def bits(self, key, make: Callable[[Segment], int]) -> int:
        return self.cache.get(key, lambda: make(self))

    # Bitsets of this segment's documents, each worked out once for the segment's life.

    def category_bits(self, slug: str) -> int:
        code = self.category_code.get(slug)
        return bitsets.from_byte_column(self.col_category, {code}) if code else 0

    def supports_bits(self, group) -> int:
        """The documents that support a group of people (a PeopleGroup)."""
        column, bit = divmod(SUPPORTS_BITS[group].bit_length() - 1, 8)
        return bitsets.from_byte_column(self.col_supports[column], {v for v in range(256) if v >> bit & 1})

    def price_bits(self, pence: int) -> int:
        return bitsets.from_positions(self.by_price[: bisect.bisect_right(self.sorted_prices, pence)], self.size)

    def near_bits(self, district: str, radius: int, distances: Mapping[str, float]) -> int:
        docs = list(self.area_docs.get(district, ()))
        for base, base_docs in self.base_docs.items():
            if distances.get(base, math.inf) <= radius:
                docs.extend(base_docs)
        for (base, own_radius), radius_docs in self.radius_docs.items():
            if distances.get(base, math.inf) <= own_radius:
                docs.extend(radius_docs)
        return bitsets.from_positions(docs, self.size)

    def words(self, reader, fieldname: str) -> frozenset[str]:
        def make():
            words = set()
            for b in reader.lexicon(fieldname):
                word = b.decode("utf-8") if isinstance(b, bytes) else b
                if not word.startswith(CONCEPT_PREFIX):
                    words.add(word)
            return frozenset(words)

        return self.cache.get(("words", fieldname), make)

    # Framework orders, for one state of a lot (weights, cheapest prices, average quality).

    def lot_run(self, lot: LotState) -> tuple[list[int], array, list[int]]:
        """The lot's members in this segment in best-match order: (their order keys,
        their document numbers, their scores in ascending order, for counting ranks)."""

        def make():
            scored = []
            attrs, prices, quality, ids = self.attrs, self.prices, self.quality, self.ids
            for n in self.lot_docs.get(lot.id, ()):
                score, q, _ = lot.score(quality[n], prices[n], attrs[n])
                scored.append((order_key(0, score, q, prices[n], ids[n]), n, score))
            scored.sort()
            return [s[0] for s in scored], array("q", (s[1] for s in scored)), sorted(s[2] for s in scored)

        return self.runs.get(("lot", lot.key), make)

    def free_runs(self, unknown_lots: frozenset[int]) -> tuple[list[int], array, array]:
        """The documents of no (known) lot: the CQC-rated ones in best-match order with their
        keys, and the unrated ones by price (their place among the others depends on the
        average quality of the rated, which the snapshot knows)."""

        def make():
            first_lot, quality, prices, ids = self.first_lot, self.quality, self.prices, self.ids
            free = [n for n in range(self.size) if ids[n] and (not first_lot[n] or first_lot[n] in unknown_lots)]
            rated = sorted((order_key(1, 0, quality[n], prices[n], ids[n]), n) for n in free if quality[n] != NO_QUALITY)
            unrated = sorted((n for n in free if quality[n] == NO_QUALITY), key=lambda n: (prices[n], ids[n]))
            return [k for k, _ in rated], array("q", (n for _, n in rated)), array("q", unrated)

        return self.runs.get(("free", unknown_lots), make)

    def review_keys(self, weight: int, total: int, count: int) -> array:
        """Each document's place in the order "reviews, highest first" (smaller first): a
        Bayesian average of its reviews weighed with ``weight`` reviews' worth of the
        overall average (``total`` / ``count``); documents with no reviews after all."""

        def make():
            keys = array("q")
            for own_total, own_count in (a[A_REVIEWS] for a in self.attrs):
                if own_count <= 0 or count <= 0:
                    keys.append(NO_REVIEWS_KEY)
                else:
                    keys.append(-((weight * total + own_total * count) * 10**6 // (count * (weight + own_count))))
            return keys

        return self.runs.get(("reviews", weight, total, count), make)

    def unrated_keys(self, unknown_lots: frozenset[int], neutral: int) -> list[int]:
        def make():
            prices, ids = self.prices, self.ids
            return [order_key(1, 0, neutral, prices[n], ids[n]) for n in self.free_runs(unknown_lots)[2]]

        return self.runs.get(("unrated", unknown_lots, neutral), make)


def review_tenths(total: int, count: int) -> int:
    """An average rating in tenths of a star, halves up, as ``ranking.format_average``
    shows it (46 for 4.6); 0 with no reviews."""
    return (20 * total + count) // (2 * count) if count > 0 else 0


def shifted(docs: Sequence[int], offset: int) -> Iterable[int]:
    """A segment's document numbers as the snapshot numbers them (its leaf's offset added)."""
    return docs if not offset else map(offset.__add__, docs)
