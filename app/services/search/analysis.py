"""How text becomes index terms: words are tokenised, lower-cased, stripped of accents and
stop words, and stemmed; at indexing time a word people use for an activity ("carer") is
also indexed as the activity ("care"), and a run of words that spells a phrase of a
synonym group also indexes the group's token, so a search for any phrase of the group
finds them all.
"""

from __future__ import annotations

from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.support.charset import accent_map

from app.services.search import synonyms

CONCEPT_PREFIX = "zsyn"  # tokens standing for a synonym group ("zsynrespite")

# Agent nouns that the Porter stemmer leaves alone but people mean as the activity:
# "carer"/"carers" find care, "cleaner" finds cleaning.
LEMMAS = {"carer": "care", "cleaner": "clean", "helper": "help", "sitter": "sit", "driver": "drive", "befriend": "befriend"}


class IndexExpansionFilter(Filter):
    """At indexing time only (queries are expanded by the query parser of this package):

    * a word in ``LEMMAS`` is indexed under both forms ("carers" as carer and care), so
      searching "care" finds carers' support and "carers" finds care;
    * after every run of words that spells a phrase of a synonym group, the group's token
      is added: "domiciliary care" also indexes ``zsynhome-care``, as does "home care", so
      searching for either finds both.
    """

    # Indexes on disk store the schema pickled, naming this class by module, and Whoosh's
    # parallel writer unpickles it in each of its processes: the name is the package's (its
    # facade re-exports the class), so an index reads the same whichever module defines it.
    __module__ = "app.services.search"

    is_morph = True

    def __init__(self, phrases: dict[tuple[str, ...], str], longest: int):
        self.phrases = phrases
        self.longest = longest
        self.last_words = {phrase[-1] for phrase in phrases}

    def __call__(self, tokens):
        window: list[str] = []
        phrases, last_words, longest = self.phrases, self.last_words, self.longest
        for t in tokens:
            if t.mode != "index" or t.stopped:
                yield t
                continue
            word = t.text
            yield t
            lemma = LEMMAS.get(word)
            if lemma:
                t.text = lemma
                yield t
                word_ = lemma
            else:
                word_ = word
            window.append(word_)
            if len(window) > longest:
                del window[0]
            if word_ in last_words:  # only then can a phrase end here
                emitted = set()
                for n in range(1, len(window) + 1):
                    concept = phrases.get(tuple(window[-n:]))
                    if concept and concept not in emitted:
                        emitted.add(concept)
                        t.text = concept
                        yield t
            t.text = word


def base_analyzer():
    """Words as both the index and queries see them, before any expansion."""
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(minsize=2) | StemFilter(cachesize=100_000)


# Query words as the index stems them, before any expansion (one instance: it caches stems).
PLAIN_ANALYZER = base_analyzer()


def lemma(word: str) -> str:
    return LEMMAS.get(word, word)


def _concept_phrases() -> dict[tuple[str, ...], str]:
    plain = base_analyzer()
    phrases: dict[tuple[str, ...], str] = {}
    for group, words in synonyms.SYNONYM_GROUPS.items():
        token = CONCEPT_PREFIX + group
        for phrase in words:
            stems = tuple(lemma(t.text) for t in plain(phrase, mode="query"))
            if stems:
                phrases.setdefault(stems, token)
    return phrases


# Each synonym phrase, as the stems it reduces to, with the token of its group.
CONCEPT_PHRASES = _concept_phrases()
LONGEST_PHRASE = max(len(p) for p in CONCEPT_PHRASES)


def analyzer():
    return base_analyzer() | IndexExpansionFilter(CONCEPT_PHRASES, LONGEST_PHRASE)
