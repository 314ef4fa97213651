"""The "Did you mean" line: a corrected query when some typed words are in no listing and
a close word is, and the corrected query finds something.
"""

from __future__ import annotations

import re

from app.services.search.analysis import CONCEPT_PREFIX, PLAIN_ANALYZER
from app.services.search.evaluate import Evaluator
from app.services.search.query import parse, root_with_synonyms
from app.services.search.snapshot import Snapshot

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}
# Spelling is suggested for searches of up to this many words: looking up a close word is the
# dearest part of a search, and a long description of needs is matched word by word instead.
MAX_WORDS = 8


def did_you_mean(snap: Snapshot, evaluator: Evaluator, typed: str, total: int) -> str | None:
    """A corrected query when some typed words are not in any listing and a close word
    is, and the corrected query finds something."""
    if len(_WORD_RE.findall(typed)) > MAX_WORDS:
        return None  # a description, not a name: most of its words are matched instead (partial.py)
    replacements: dict[str, str] = {}
    for match in _WORD_RE.finditer(typed):
        word = match.group(0)
        before, after = typed[max(0, match.start() - 1) : match.start()], typed[match.end() : match.end() + 1]
        if word in _OPERATORS or len(word) < 3 or word.lower() in replacements or "*" in (before + after) or after in ("~", "?"):
            continue
        stems = [t.text for t in PLAIN_ANALYZER(word, mode="query")]
        if not stems or any(snap.doc_frequency(s) for s in stems):
            continue
        suggestion = _suggest(snap, word.lower())
        if suggestion:
            replacements[word.lower()] = suggestion
    if not replacements:
        return None
    corrected = _WORD_RE.sub(lambda m: replacements.get(m.group(0).lower(), m.group(0)), typed)
    if corrected.lower() == typed.lower():
        return None
    node = root_with_synonyms(parse(corrected))
    if not (evaluator.run(node).match & snap.live):
        return None
    return corrected


def _suggest(snap: Snapshot, word: str) -> str | None:
    candidates: dict[str, tuple[int, int]] = {}
    for fieldname in ("title", "category", "description"):
        try:
            corrector = snap.searcher.corrector(fieldname)
            for distance in (1, 2):
                for suggestion in corrector.suggest(word, limit=3, maxdist=distance, prefix=1):
                    if suggestion.startswith(CONCEPT_PREFIX) or suggestion == word:
                        continue
                    stems = [t.text for t in PLAIN_ANALYZER(suggestion, mode="query")]
                    df = sum(snap.doc_frequency(s) for s in stems)
                    if df and suggestion not in candidates:
                        candidates[suggestion] = (distance, -df)
                if candidates:
                    break
        except Exception:
            continue
    if not candidates:
        return None
    return min(candidates, key=lambda w: candidates[w])
