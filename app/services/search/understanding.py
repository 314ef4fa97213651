"""Reading plain words the way a person means them.

People describe what is wrong ("my dad needs help getting dressed"), not the name of a type
of support. For words typed without search syntax (no quotes, AND/OR/NOT, brackets,
wildcards or fuzzy~ marks: those are left exactly as typed):

* a run of words that is a phrase of the needs vocabulary (needs.py) finds what the words
  find, or what meets the need: "dressed" also finds home care and listings that say
  "personal care";
* words that carry no need ("my", "someone", "help", "need", "dad") are left out, so they
  never empty the results; a search of nothing but such words is kept as typed.

Matching most of the words (when few listings match them all) is the search's own step
(results.py), on the words that are left.
"""

from __future__ import annotations

from app.services.search.analysis import lemma
from app.services.search.needs import Vocabulary
from app.services.search.query import Node, has_syntax, word_of


def understand(node: Node, text: str, vocabulary: Vocabulary) -> Node:
    """The query tree of ``text`` with needs found and words that carry no need left out;
    unchanged for text that uses search syntax."""
    if has_syntax(text) or node.kind == "all":
        return node
    units = node.children if node.kind == "and" else [node]
    # Needs first, so phrases with such words in them count ("getting up", "on my own"),
    # then again without them ("pick up my prescriptions" is "pick up prescriptions").
    units = _group_needs(units, vocabulary)
    kept = _group_needs([unit for unit in units if not _neutral(unit, vocabulary)], vocabulary)
    if not kept:  # nothing but such words ("help"): search for them as typed
        kept = units
    return kept[0] if len(kept) == 1 else Node("and", children=kept)


def _neutral(node: Node, vocabulary: Vocabulary) -> bool:
    word = word_of(node)
    return word is not None and node.need is None and lemma(word) in vocabulary.neutral


def _need_node(vocabulary: Vocabulary, run: list[Node]) -> Node | None:
    words = tuple(word_of(c) if c.need is None else None for c in run)
    if None in words:
        return None
    need = vocabulary.need_of(tuple(lemma(w) for w in words))  # type: ignore[arg-type]
    if need is None:
        return None
    # The words as typed, next to each other ("things to do", not "things" somewhere and "do" elsewhere).
    literal = run[0] if len(run) == 1 else Node("phrase", tuple(words))  # type: ignore[arg-type]
    return Node("or", children=[Node("need", (need.key,)), literal], prefer=literal, need=need.key)


def _group_needs(units: list[Node], vocabulary: Vocabulary) -> list[Node]:
    """Runs of plain words that spell a need's phrase (the longest first) become one unit:
    the words as typed, or what meets the need."""
    out: list[Node] = []
    i = 0
    while i < len(units):
        for n in range(min(vocabulary.longest, len(units) - i), 0, -1):
            grouped = _need_node(vocabulary, units[i : i + n])
            if grouped is not None:
                out.append(grouped)
                i += n
                break
        else:
            out.append(units[i])
            i += 1
    return out


def needs_in(node: Node) -> list[str]:
    """The needs a query tree stands for, in the order typed."""
    units = node.children if node.kind == "and" else [node]
    return [unit.need for unit in units if unit.need is not None]
