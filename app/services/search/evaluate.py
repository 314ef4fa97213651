"""A query tree evaluated against a snapshot: the documents it matches, as a bitset, and
for each text field the documents it matches within that field (for relevance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh.spelling import ListCorrector

from app.services.search import bitsets
from app.services.search.query import Node
from app.services.search.schema import TEXT_FIELDS
from app.services.search.snapshot import Snapshot

MAX_EXPANSIONS = 50  # terms a wildcard or fuzzy word may stand for


@dataclass
class Evaluated:
    match: int
    fields: dict[str, int]


class Evaluator:
    def __init__(self, snap: Snapshot):
        self.snap = snap

    def run(self, node: Node) -> Evaluated:
        kind = node.kind
        snap = self.snap
        if kind == "all":
            return Evaluated(snap.live, {})
        if kind == "term":
            if len(node.words) == 1:
                fields_ = {f: snap.term(f, node.words[0]) for f in TEXT_FIELDS}
            else:
                fields_ = {f: bitsets.intersection(snap.term(f, w) for w in node.words) for f in TEXT_FIELDS}
            return Evaluated(bitsets.union(fields_.values()), fields_)
        if kind == "phrase":
            fields_ = {f: snap.phrase(f, node.words) for f in TEXT_FIELDS if f != "places"}
            return Evaluated(bitsets.union(fields_.values()), fields_)
        if kind in ("wildcard", "fuzzy"):
            fields_ = {f: bitsets.union(snap.term(f, t) for t in self._expand(node, f)) for f in TEXT_FIELDS}
            return Evaluated(bitsets.union(fields_.values()), fields_)
        if kind == "not":
            inner = self.run(node.children[0])
            return Evaluated(snap.live & ~inner.match, {})
        parts = [self.run(child) for child in node.children]
        if kind == "and":
            match = bitsets.intersection(p.match for p in parts)
            fields_ = {f: bitsets.intersection(p.fields.get(f, p.match) for p in parts) & match for f in TEXT_FIELDS}
            return Evaluated(match, fields_)
        match = bitsets.union(p.match for p in parts)
        fields_ = {f: bitsets.union(p.fields.get(f, 0) for p in parts) for f in TEXT_FIELDS}
        return Evaluated(match, fields_)

    def _expand(self, node: Node, fieldname: str) -> list[str]:
        words = self.snap.lexicon(fieldname)
        if node.kind == "wildcard":
            regex = re.compile(re.escape(node.words[0]).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")
            return [w for w in words if regex.match(w)][:MAX_EXPANSIONS]
        word, maxdist, prefix = node.words[0], int(node.words[1]), int(node.words[2])
        corrector = ListCorrector(words)
        return corrector.suggest(word, limit=MAX_EXPANSIONS, maxdist=maxdist, prefix=prefix) + ([word] if word in words else [])
