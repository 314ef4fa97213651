"""Loading the index before anyone searches.

A process's first search reads every segment's columns into memory and works out the
framework ranks (about 1.3 s at 100,000 services); a web worker does it once, when it
starts, so no visitor waits for it. Two searches do the work: everything listed (the
snapshot, the ranks, the best-match order) and a search by a word (its bitsets, the
reference data a search checks words and postcodes against).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from app.services.search.engines import engine
from app.services.search.params import SearchParams
from app.services.search.reference import category_choices
from app.services.search.results import search
from app.services.search.storage import SearchUnavailable

log = logging.getLogger(__package__)

WARM_SEARCHES = (SearchParams(), SearchParams(q="care"))


@dataclass(frozen=True)
class WarmReport:
    loaded: bool  # False: no index to load (not built yet), or it could not be read
    documents: int
    seconds: float


def warm_up(index_dir: str | None = None) -> WarmReport:
    """Load the index into this process and run the searches that fill its caches. Never
    raises for a missing or unreadable index: the worker starts, and its pages say so."""
    started = time.perf_counter()
    try:
        snapshot = engine(index_dir).snapshot()
        categories = category_choices()
        for params in WARM_SEARCHES:
            search(params, index_dir=index_dir, categories=categories, correct=False, broaden=False)
    except SearchUnavailable as exc:
        log.warning("Search index not loaded at start: %s", exc)
        return WarmReport(False, 0, time.perf_counter() - started)
    return WarmReport(True, snapshot.count, time.perf_counter() - started)
