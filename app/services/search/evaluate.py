"""A query tree evaluated against a snapshot: the documents it matches, as a bitset, and
for each text field the documents it matches within that field (for relevance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from whoosh.spelling import ListCorrector

from app.services.search import bitsets
from app.services.search.analysis import PLAIN_ANALYZER
from app.services.search.needs import Vocabulary
from app.services.search.query import Node
from app.services.search.schema import TEXT_FIELDS
from app.services.search.snapshot import Snapshot

MAX_EXPANSIONS = 50  # terms a wildcard or fuzzy word may stand for


@dataclass
class Evaluated:
    match: int
    fields: dict[str, int]


class Evaluator:
    def __init__(self, snap: Snapshot, vocabulary: Vocabulary | None = None):
        self.snap = snap
        self.vocabulary = vocabulary
        self._needs: dict[str, Evaluated] = {}

    def run(self, node: Node) -> Evaluated:
        kind = node.kind
        snap = self.snap
        if kind == "all":
            return Evaluated(snap.live, {})
        if kind == "need":
            return self.need(node.words[0])
        if kind == "category":
            bits = snap.category(node.words[0])
            return Evaluated(bits, {"category": bits})
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

    def need(self, key: str) -> Evaluated:
        """What meets a need: listings of the types of support whose main work it is (found
        as a match on their type, so they rank first), of the other types that meet it, or
        that say what it does (found as a match in their words)."""
        if key not in self._needs:
            need = self.vocabulary.needs.get(key) if self.vocabulary is not None else None
            self._needs[key] = self._meets(need) if need is not None else Evaluated(0, {})
        return self._needs[key]

    def _meets(self, need) -> Evaluated:
        snap = self.snap
        main = bitsets.union(snap.category(slug) for slug in need.categories)
        also = [snap.category(slug) for slug in need.also]
        for phrase in need.does:
            words = tuple(t.text for t in PLAIN_ANALYZER(phrase, mode="query"))  # as written: "carers" is not "care"
            if words:
                also.append(self.run(Node("term", words) if len(words) == 1 else Node("phrase", words)).match)
        others = bitsets.union(also) & ~main
        return Evaluated(main | others, {"category": main, "description": others})

    def _expand(self, node: Node, fieldname: str) -> list[str]:
        words = self.snap.lexicon(fieldname)
        if node.kind == "wildcard":
            regex = re.compile(re.escape(node.words[0]).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")
            return [w for w in words if regex.match(w)][:MAX_EXPANSIONS]
        word, maxdist, prefix = node.words[0], int(node.words[1]), int(node.words[2])
        if not words:  # a field no listing uses yet: nothing to correct towards
            return []
        corrector = ListCorrector(words)
        return corrector.suggest(word, limit=MAX_EXPANSIONS, maxdist=maxdist, prefix=prefix) + ([word] if word in words else [])
