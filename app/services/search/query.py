"""The query as typed, as a tree of words (``Node``). Whoosh's syntax works (AND, OR, NOT,
brackets, "phrases", wild*cards, fuzzy~); anything it cannot make sense of is read as
plain words. Words are stemmed as the index stems them, a word people use for an activity
also finds the activity ("carers" finds care), and a run of words that spells a synonym
phrase becomes one "any of these" group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from whoosh import fields as wfields
from whoosh import qparser
from whoosh import query as wquery

from app.services.search.analysis import CONCEPT_PHRASES, LEMMAS, LONGEST_PHRASE, PLAIN_ANALYZER, analyzer, lemma

MAX_NESTING = 6


@dataclass
class Node:
    kind: str  # "term", "phrase", "wildcard", "fuzzy", "and", "or", "not", "all"; "need", "category" (needs.py)
    words: tuple[str, ...] = ()
    children: list[Node] = field(default_factory=list)
    # Scored but not required: the exact form of a word also found under a broader one
    # ("carers" finds care, and listings that say carers come first).
    prefer: Node | None = None
    synonyms: bool = False  # an "any of these" group made from a synonym phrase
    need: str | None = None  # the need (needs.py) an everyday word stands for: the words, or what meets the need


_PARSER_SCHEMA = wfields.Schema(text=wfields.TEXT(analyzer=analyzer()))


def _parser() -> qparser.QueryParser:
    parser = qparser.QueryParser("text", _PARSER_SCHEMA, group=qparser.AndGroup)
    for plugin in (qparser.FieldsPlugin, qparser.RangePlugin, qparser.EveryPlugin, qparser.BoostPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser


_PARSER = _parser()
_SYNTAX_RE = re.compile(r"[()\"*?~^:\[\]{}]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b")


def has_syntax(text_: str) -> bool:
    """Whether the words use search syntax (quotes, AND/OR/NOT, brackets, wildcards...)."""
    return _SYNTAX_RE.search(text_) is not None


def _plain_words(text_: str) -> Node:
    stems = [t.text for t in PLAIN_ANALYZER(_SYNTAX_RE.sub(" ", text_), mode="query")]
    if not stems:
        return Node("all")
    return Node("and", children=_group_synonyms([_word(s) for s in stems]))


def _too_nested(text_: str) -> bool:
    depth = deepest = 0
    for ch in text_:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest > MAX_NESTING or len(re.findall(r"\bNOT\b", text_)) > MAX_NESTING


def parse(text_: str) -> Node:
    """The query as typed, as a tree of words. Whoosh's syntax works (AND, OR, NOT,
    brackets, "phrases", wild*cards, fuzzy~); anything it cannot make sense of is read as
    plain words."""
    text_ = text_.strip()
    if not text_:
        return Node("all")
    if _too_nested(text_):
        return _plain_words(text_)
    try:
        q = _PARSER.parse(text_)
    except Exception:  # the parser's own errors (recursion, index errors) on odd input
        return _plain_words(text_)
    try:
        node = _convert(q)
    except RecursionError:  # pragma: no cover - nesting is capped above
        return _plain_words(text_)
    return node if node is not None else Node("all")


def _word(stem: str) -> Node:
    lemma = LEMMAS.get(stem)
    if lemma is None:
        return Node("term", (stem,))
    exact = Node("term", (stem,))
    return Node("or", children=[exact, Node("term", (lemma,))], prefer=exact)


def _convert(q) -> Node | None:
    if isinstance(q, wquery.Term):
        return _word(q.text)
    if isinstance(q, wquery.Phrase):
        words = tuple(w for w in q.words if w)
        if not words:
            return None
        return Node("term", words) if len(words) == 1 else Node("phrase", words)
    if isinstance(q, wquery.FuzzyTerm):
        return Node("fuzzy", (q.text, str(max(1, min(2, int(q.maxdist)))), str(q.prefixlength)))
    if isinstance(q, (wquery.Prefix, wquery.Wildcard)):
        pattern = q.text if isinstance(q, wquery.Wildcard) else q.text + "*"
        if sum(ch.isalnum() for ch in pattern) < 2:
            return None
        return Node("wildcard", (pattern.lower(),))
    if isinstance(q, wquery.Every):
        return Node("all")
    if isinstance(q, wquery.Not):
        child = _convert(q.query)
        return Node("not", children=[child]) if child is not None else None
    if isinstance(q, wquery.AndNot):
        positive, negative = _convert(q.a), _convert(q.b)
        if positive is None:
            return None
        return positive if negative is None else Node("and", children=[positive, Node("not", children=[negative])])
    if isinstance(q, wquery.AndMaybe):
        return _convert(q.a)
    if isinstance(q, (wquery.And, wquery.Or)):
        children = [c for c in (_convert(sub) for sub in q.subqueries) if c is not None]
        if not children:
            return None
        if len(children) == 1:
            return children[0]
        kind = "and" if isinstance(q, wquery.And) else "or"
        if kind == "and":
            children = _group_synonyms(children)
            if len(children) == 1:
                return children[0]
        return Node(kind, children=children)
    if isinstance(q, wquery.CompoundQuery):  # other compound queries: their parts, all required
        children = [c for c in (_convert(sub) for sub in q.subqueries) if c is not None]
        return Node("and", children=children) if children else None
    return None


def word_of(node: Node) -> str | None:
    """The stem of a plain one-word node (a word, or a word with its broader form)."""
    if node.kind == "term" and len(node.words) == 1:
        return node.words[0]
    if node.kind == "or" and not node.synonyms and node.prefer is not None and node.prefer.kind == "term":
        return node.prefer.words[0]
    return None


def _synonym_node(stems: tuple[str, ...], literal: Node) -> Node | None:
    concept = CONCEPT_PHRASES.get(tuple(lemma(s) for s in stems))
    if concept is None:
        return None
    return Node("or", children=[Node("term", (concept,)), literal], prefer=literal, synonyms=True)


def _group_synonyms(children: list[Node]) -> list[Node]:
    """Runs of plain words that spell a synonym phrase become one "any of these" unit,
    which prefers the words as typed."""
    out: list[Node] = []
    i = 0
    while i < len(children):
        node = children[i]
        if word_of(node) is not None:
            for n in range(min(LONGEST_PHRASE, len(children) - i), 0, -1):
                run = children[i : i + n]
                stems = tuple(word_of(c) for c in run)
                if None in stems:
                    continue
                literal = run[0] if n == 1 else Node("and", children=list(run))
                grouped = _synonym_node(stems, literal)  # type: ignore[arg-type]
                if grouped is not None:
                    out.append(grouped)
                    i += n
                    break
            else:
                out.append(node)
                i += 1
            continue
        if node.kind == "phrase":
            node = _synonym_node(node.words, node) or node
        out.append(node)
        i += 1
    return out


def root_with_synonyms(node: Node) -> Node:
    """Apply synonym grouping to a lone word or phrase too."""
    if word_of(node) is not None or node.kind == "phrase":
        return _group_synonyms([node])[0]
    return node
