"""Matching most of the words: when fewer than a page of listings match every word of a
plain search, listings matching most of them follow, those matching more words first.

A word here is one unit of the query as understood (understanding.py): a word, a synonym
phrase or a need, with words that carry no need already left out. "Most" is at least half
of them, rounded up; when no listing matches that many (a long description of many needs),
those matching the most of them. Search syntax (quotes, AND/OR/NOT...) means exactly what it says, so
a search using it never gets these.
"""

from __future__ import annotations

from collections.abc import Callable

from app.services.search.evaluate import Evaluator
from app.services.search.query import Node, has_syntax


def word_units(node: Node) -> list[Node]:
    return [u for u in (node.children if node.kind == "and" else []) if u.kind not in ("not", "all")]


def by_words_matched(evaluator: Evaluator, node: Node, text: str) -> list[int]:
    """The live listings matching most but not all of the words: a bitset for each number
    of words matched, the most first, down to half of them. When no listing matches half
    (a long description of many needs), those matching the most words follow, with those
    matching one fewer. Empty for a search of one word or with search syntax."""
    units = word_units(node)
    if len(units) < 2 or has_syntax(text):
        return []
    live = evaluator.snap.live
    found = [bits for bits in (evaluator.run(unit).match & live for unit in units) if bits]
    counts = [live]  # counts[c]: the listings matching exactly c of the words so far
    for bits in found:
        grown = [0] * (len(counts) + 1)
        for c, listings in enumerate(counts):
            if listings:
                grown[c + 1] |= listings & bits
                grown[c] |= listings & ~bits
        counts = grown
    every, least = len(units), (len(units) + 1) // 2
    groups = [(c, counts[c]) for c in range(min(len(found), every - 1), 0, -1) if counts[c]]
    if groups and groups[0][0] < least:
        least = max(1, groups[0][0] - 1)
    return [bits for c, bits in groups if c >= least]


def page_across(parts: list[int], skip: int, limit: int, take: Callable[[int, int, int], list[int]]) -> list[tuple[int, int]]:
    """One page over sets of listings shown one after the other: (part index, listing) for
    ``limit`` listings after the first ``skip``; ``take(part, skip, limit)`` orders a part."""
    page: list[tuple[int, int]] = []
    for index, part in enumerate(parts):
        count = part.bit_count()
        if skip >= count:
            skip -= count
            continue
        page.extend((index, n) for n in take(part, skip, limit - len(page)))
        skip = 0
        if len(page) >= limit:
            break
    return page
