"""Relevance: the matching documents split into bands by how well they match the words.

Relevance is BM25F with k1 = 0: each query word (or synonym group) scores its inverse
document frequency times the weight of the best field it appears in (title 8, category 6,
who it supports 5, provider 4, description 3, places 2), so a listing that repeats a word
gains nothing. A need (understanding.py) scores as its main types of support's category and
as description for the rest; a word none of the matching listings has is not scored.
Results fall into four bands by how much of the best possible score they reach; within a
band, the best-match order puts providers on the council framework first in framework
rank order, then the others by CQC quality. That is "framework providers first where
relevance is comparable".
"""

from __future__ import annotations

import math

from app.services.search.evaluate import Evaluator
from app.services.search.query import Node
from app.services.search.schema import FIELD_WEIGHTS, TEXT_FIELDS
from app.services.search.snapshot import Snapshot

MAX_SCORED_UNITS = 8
RELEVANCE_BANDS = 4


def _scoring_units(node: Node) -> list[Node]:
    units = [u for u in (node.children if node.kind == "and" else [node]) if u.kind not in ("not", "all")]
    units = units[:MAX_SCORED_UNITS]
    return units + [u.prefer for u in units if u.prefer is not None]


def relevance_bands(snap: Snapshot, evaluator: Evaluator, node: Node, match: int) -> list[int]:
    """The matching documents split into bands by relevance, best band first."""
    units = _scoring_units(node)
    if not units or not match:
        return [match] if match else []
    total_docs = max(1, snap.count)
    weighted = []
    for unit in units:
        result = evaluator.run(unit)
        df = (result.match & match).bit_count()
        if not df:  # a word none of these listings has (the words as typed, beside a need): it tells them apart in no way
            continue
        idf = math.log(1 + total_docs / (1 + df))
        weighted.append((idf, result))
    best_possible = sum(idf * max(FIELD_WEIGHTS.values()) for idf, _ in weighted) or 1.0
    # Histogram of scores, in hundredths of the best possible score, as bitsets.
    histogram: dict[int, int] = {0: match}
    for idf, result in weighted:
        tiers = []
        seen = 0
        for f in sorted(TEXT_FIELDS, key=lambda f: -FIELD_WEIGHTS[f]):
            bits = result.fields.get(f, 0) & match & ~seen
            if bits:
                tiers.append((round(100 * idf * FIELD_WEIGHTS[f] / best_possible), bits))
                seen |= bits
        rest = result.match & match & ~seen  # matched, but not within one field (a split AND)
        if rest:
            tiers.append((round(100 * idf * min(FIELD_WEIGHTS.values()) / best_possible), rest))
        next_histogram: dict[int, int] = {}
        for score, bits in histogram.items():
            remaining = bits
            for add, tier_bits in tiers:
                part = remaining & tier_bits
                if part:
                    next_histogram[min(100, score + add)] = next_histogram.get(min(100, score + add), 0) | part
                    remaining &= ~part
            if remaining:
                next_histogram[score] = next_histogram.get(score, 0) | remaining
        histogram = next_histogram
    bands = [0] * (RELEVANCE_BANDS + 1)
    for score, bits in histogram.items():
        band = math.ceil(score * RELEVANCE_BANDS / 100)
        bands[band] |= bits
    return [b for b in reversed(bands) if b]
