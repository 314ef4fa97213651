"""The few results of one page, in the order asked for (best match, price, CQC rating,
reviews or distance), picked from the matching documents without putting the rest in order: a
dense set is taken by walking an order merged from the segments, a sparse one is sorted.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable, Iterable

from app.services.search import bitsets
from app.services.search.evaluate import Evaluator
from app.services.search.params import SearchParams, Sort
from app.services.search.query import Node
from app.services.search.ranks import Ranks
from app.services.search.relevance import relevance_bands
from app.services.search.schema import A_BASE
from app.services.search.snapshot import Snapshot

# A set at least this fraction of all documents is taken by walking an order from the
# start; a smaller one is sorted.
DENSE = 16


def page_of(
    snap: Snapshot,
    ranks: Ranks,
    evaluator: Evaluator,
    node: Node,
    matched: int,
    params: SearchParams,
    distances,
    skip: int,
    limit: int,
) -> list[int]:
    """The document numbers of one page: ``limit`` of the ``matched`` documents after the
    first ``skip``, in the order the search asks for."""
    if not matched or skip >= matched.bit_count():
        return []
    if params.sort is Sort.PRICE:
        return _by_price(snap, ranks, matched, skip, limit)
    if params.sort is Sort.RATING:
        # Outstanding first, then Good, Requires improvement, Inadequate, then not rated;
        # best-match order within each.
        return _in_bands(snap, ranks, [matched & snap.rating_exactly(code) for code in (4, 3, 2, 1, 0)], skip, limit)
    if params.sort is Sort.REVIEWS:
        # Highest review score first (services with none last); best-match order within.
        return _two_level(bitsets.positions(matched), snap.review_keys().__getitem__, ranks.key, skip, limit)
    if params.sort is Sort.DISTANCE and distances is not None:
        attrs = snap.attrs

        def distance(n: int) -> float:
            return round(distances.get(attrs[n][A_BASE], math.inf), 1)

        return _two_level(bitsets.positions(matched), distance, ranks.key, skip, limit)
    # Best match: bands of relevance, each in framework-then-quality order.
    return _in_bands(snap, ranks, relevance_bands(snap, evaluator, node, matched), skip, limit)


def _in_bands(snap: Snapshot, ranks: Ranks, bands: Iterable[int], skip: int, limit: int) -> list[int]:
    """From bands taken one after the other, each in best-match order."""
    out: list[int] = []
    for band in bands:
        count = band.bit_count()
        if skip >= count:
            skip -= count
            continue
        out.extend(_best_first(snap, ranks, band, skip, limit - len(out)))
        skip = 0
        if len(out) >= limit:
            break
    return out


def _best_first(snap: Snapshot, ranks: Ranks, bits: int, skip: int, limit: int) -> list[int]:
    count = bits.bit_count()
    if skip >= count or limit <= 0:
        return []
    if count * DENSE >= snap.size:
        return bitsets.take_in_order(ranks.walk(), bits, skip, limit)
    members = bitsets.positions(bits)
    if skip + limit < len(members) // 4:
        return heapq.nsmallest(skip + limit, members, key=ranks.key)[skip:]
    members.sort(key=ranks.key)
    return members[skip : skip + limit]


def _by_price(snap: Snapshot, ranks: Ranks, bits: int, skip: int, limit: int) -> list[int]:
    """Cheapest first; the same price in best-match order."""
    count = bits.bit_count()
    if count * DENSE < snap.size:
        prices = snap.prices
        return _two_level(bitsets.positions(bits), prices.__getitem__, ranks.key, skip, limit)
    contains = bitsets.member_test(bits)
    out: list[int] = []
    need = skip + limit
    for _, group in itertools.groupby(snap.by_price(), key=lambda pn: pn[0]):
        found = [n for _, n in group if contains(n)]
        if found:
            found.sort(key=ranks.key)
            out.extend(found)
            if len(out) >= need:
                break
    return out[skip:need]


def _two_level(
    members: list[int], primary: Callable[[int], object], secondary: Callable[[int], object], skip: int, limit: int
) -> list[int]:
    """``members`` ordered by ``primary`` then ``secondary``, from ``skip`` for ``limit``;
    ``secondary`` (the dearer key) is only worked out for those that can make the page."""
    need = skip + limit
    firsts = [primary(n) for n in members]
    if len(members) > need:
        cut = heapq.nsmallest(need, firsts)[-1]
        candidates = [(f, n) for f, n in zip(firsts, members) if f <= cut]
    else:
        candidates = list(zip(firsts, members))
    candidates.sort(key=lambda fn: (fn[0], secondary(fn[1])))
    return [n for _, n in candidates[skip:need]]
