"""The services our own search finds for some words, in its best-match order, so the feed's
``search`` agrees with the search page (stems, synonyms, needs in plain words, listings
that match most of the words). The words are taken as typed: no corrected spelling and no
broader search stand in for them. The feed pages and counts exactly, so it takes every id
the search finds, in one pass over the index.
"""

from __future__ import annotations

from app.services import search


def found_in_order(words: str) -> list[int]:
    """The ids of the services the search finds for ``words``, best match first. Raises
    search.SearchUnavailable when there is no index to search."""
    return search.ids_in_order(search.SearchParams(q=words))
