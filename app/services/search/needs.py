"""The vocabulary of needs: everyday words for what people need (needs.toml, beside this
module), each leading to the types of support that meet it and the words listings use for
doing it; and the council's own words, added from the unmet demand report.

A need is looked up by the stems of its phrases, as the index stems words, so "bathing",
"bathed" and "baths" are all "bath". Searching applies it (understanding.py); nothing here
is in the index, so a change takes effect at the next search without rebuilding anything.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from app.services.search.analysis import PLAIN_ANALYZER, lemma

NEEDS_FILE = Path(__file__).with_name("needs.toml")
CATEGORY_NEED_PREFIX = "category:"  # a council word that leads straight to a type of support


@dataclass(frozen=True)
class Need:
    key: str
    label: str  # "help with washing and bathing": what a result is shown to match
    phrases: tuple[str, ...]
    categories: tuple[str, ...]  # category slugs whose main work it is
    does: tuple[str, ...]  # words listings use for doing it
    also: tuple[str, ...] = ()  # other category slugs that meet it too (they rank after)


def stems(phrase: str) -> tuple[str, ...]:
    """A phrase as the index stems it, little words left out ("a bath" -> ("bath",))."""
    return tuple(lemma(t.text) for t in PLAIN_ANALYZER(phrase, mode="query"))


@dataclass(frozen=True)
class Vocabulary:
    needs: dict[str, Need]
    phrases: dict[tuple[str, ...], str]  # stems -> need key
    longest: int
    neutral: frozenset[str] = frozenset()  # stems of words that carry no need

    def need_of(self, words: tuple[str, ...]) -> Need | None:
        key = self.phrases.get(words)
        return self.needs[key] if key is not None else None

    def with_council_words(self, words: Iterable[tuple[str, str, str]]) -> Vocabulary:
        """This vocabulary and the council's words: (phrase, need key or
        ``category:<slug>``, label for a type of support). A council word may add a phrase
        to a need or lead to a type of support; it never takes a phrase from the file."""
        needs, phrases = dict(self.needs), dict(self.phrases)
        for phrase, target, label in words:
            key = stems(phrase)
            if not key or key in phrases:
                continue
            if target.startswith(CATEGORY_NEED_PREFIX) and target not in needs:
                slug = target.removeprefix(CATEGORY_NEED_PREFIX)
                needs[target] = Need(target, label, (), (slug,), ())
            if target in needs:
                phrases[key] = target
        return Vocabulary(needs, phrases, max((len(k) for k in phrases), default=1), self.neutral)


class VocabularyError(ValueError):
    """needs.toml says something that cannot be right."""


def parse(data: dict) -> Vocabulary:
    """A vocabulary from needs.toml's content. Raises VocabularyError for a need without a
    label, phrases or a type of support, a phrase given to two needs, or a phrase that is
    nothing but a word that carries no need."""
    needs: dict[str, Need] = {}
    phrases: dict[tuple[str, ...], str] = {}
    for key, entry in (data.get("needs") or {}).items():
        need = Need(
            key=key,
            label=str(entry.get("label") or ""),
            phrases=tuple(entry.get("phrases") or ()),
            categories=tuple(entry.get("categories") or ()),
            does=tuple(entry.get("does") or ()),
            also=tuple(entry.get("also") or ()),
        )
        if not (need.label and need.phrases and need.categories):
            raise VocabularyError(f"need {key!r} must have a label, phrases and categories")
        needs[key] = need
        for phrase in need.phrases:
            found = stems(phrase)
            if not found:
                raise VocabularyError(f"need {key!r}: the phrase {phrase!r} has no words that can be searched for")
            other = phrases.setdefault(found, key)
            if other != key:
                raise VocabularyError(f"the phrase {phrase!r} belongs to both {other!r} and {key!r}")
    neutral = frozenset(s for word in (data.get("neutral") or {}).get("words", ()) for s in stems(word))
    for found, key in phrases.items():
        if len(found) == 1 and found[0] in neutral:
            raise VocabularyError(f"need {key!r}: {found[0]!r} is a word that carries no need, so it cannot stand for one")
    return Vocabulary(needs, phrases, max((len(k) for k in phrases), default=1), neutral)


@cache
def from_file() -> Vocabulary:
    """The vocabulary in needs.toml (read once per process)."""
    with NEEDS_FILE.open("rb") as handle:
        return parse(tomllib.load(handle))
