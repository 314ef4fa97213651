"""Full-text search over listed services: the only package that imports Whoosh.

The index (Whoosh, under ``SEARCH_INDEX_DIR``) holds one document per listed service
(published, from a verified provider): its words in six weighted fields and, stored
beside them, the few facts that filters, facets, ordering and result cards need. Changes
to the data are appended to a log in the same transaction; each host's index reads the
log from its own cursor, one process at a time per index folder. Each worker searches an
in-memory snapshot of the current index generation, where whatever can be worked out for
one Whoosh segment is, once, and kept for the segment's life. A query becomes bitsets for its words and filters; their intersections
give results, totals and facet counts, and only the few results of a page are put in
order.

The modules, from the ground up:

* ``synonyms``: words people use for the same kind of care (the index's name carries a fingerprint).
* ``bitsets``: sets of document numbers held as Python integers.
* ``analysis``: how text becomes index terms: stems, lemmas ("carer" as care), synonym tokens.
* ``schema``: a document's fields and stored facts, and the index's name.
* ``support_words``: the words indexed for each group of people a listing supports.
* ``storage``: the index on disk: whether it is there, opening it, the one-writer lock.
* ``documents``: documents built from the database, and which services a batch of changes touches.
* ``cursor``: how far one index has read the log (PostgreSQL: a snapshot; SQLite: an id), kept in its folder.
* ``readers``: the indexes reading the log (one per host's folder), and pruning what all have read.
* ``pending``: the log as one index sees it: what it has not read, how many, how old.
* ``writer``: draining unread changes into the index, rebuilding it, the background drain.
* ``follow``: one thread per host's folder that keeps the index current with other hosts' changes.
* ``outbox``: the session events that queue every change search shows, and drain after commit.
* ``status``: the index's health, for /health and `flask search status`.
* ``cache``: a small least-recently-used cache for segments and snapshots.
* ``scoring``: the best-match order as one integer, and a framework lot's state that scores members.
* ``segment``: one Whoosh segment's facts as columns, with its cached bitsets and lot orders.
* ``snapshot``: one index generation in memory: joined columns, live documents, bitsets per filter.
* ``engines``: each process's engine: the open index and the snapshot of its current generation.
* ``ranks``: framework ranks and the best-match order for a snapshot; a service's rank for its page.
* ``query``: the query as typed, as a tree of words (Whoosh syntax, stems, synonym groups).
* ``evaluate``: a query tree as bitsets of the documents it matches, overall and per field.
* ``relevance``: the matching documents in bands of relevance.
* ``ordering``: the few results of one page, in the order asked for.
* ``facets``: how many results each choice of each filter would give.
* ``suggest``: "Did you mean", for words no listing has.
* ``reference``: the categories and postcode districts a search is checked against and reads.
* ``needs``: the vocabulary of needs in everyday words (``needs.toml``, beside it: the data file).
* ``council_words``: the council's own words for needs, added from the unmet demand report.
* ``understanding``: plain words as a person means them: needs found, words that carry no need left out.
* ``partial``: listings matching most of the words, when few match them all.
* ``broader``: the nearest broader search, when a search finds nothing.
* ``results``: ``search()``, one search from start to end, and its result items.
* ``params``: what a search asks for, and how typed-in values become it.
* ``warm``: loading the index when a worker starts, before anyone searches.
* ``log``: the demand signal: searches recorded for commissioners, without personal data.

Outside the package, use the names below (``from app.services import search``), or a
module whose names are all meant for callers (``params``, ``log``). A test that patches a
name patches it in the module that looks it up (``writer.REQUEST_DRAIN_DOCUMENTS``,
``ordering.DENSE``): this facade is sealed.
"""

from __future__ import annotations

from app.services.facade import seal

# Not for code: indexes on disk name this class here in their pickled schema (analysis.py).
from app.services.search.analysis import IndexExpansionFilter
from app.services.search.council_words import Meaning, add_word, label_of, live_words, meaning_labels, meanings, remove_word
from app.services.search.engines import engine
from app.services.search.facets import FacetValue
from app.services.search.follow import init_following
from app.services.search.params import API_PARAMETERS, DAY_VALUES, SearchParams, Sort, parse_page
from app.services.search.ranks import listed_service_rank
from app.services.search.reference import category_choices, known_districts, params_from_args
from app.services.search.results import ResultItem, SearchResults, ids_in_order, search, totals_now
from app.services.search.status import index_status
from app.services.search.storage import SearchUnavailable, index_lock
from app.services.search.warm import WarmReport, warm_up
from app.services.search.writer import drain, rebuild

__all__ = [
    "API_PARAMETERS",
    "DAY_VALUES",
    "FacetValue",
    "IndexExpansionFilter",
    "Meaning",
    "ResultItem",
    "SearchParams",
    "SearchResults",
    "SearchUnavailable",
    "Sort",
    "WarmReport",
    "add_word",
    "category_choices",
    "drain",
    "engine",
    "ids_in_order",
    "index_lock",
    "index_status",
    "init_following",
    "known_districts",
    "label_of",
    "listed_service_rank",
    "live_words",
    "meaning_labels",
    "meanings",
    "params_from_args",
    "parse_page",
    "rebuild",
    "remove_word",
    "search",
    "totals_now",
    "warm_up",
]

seal(__name__)
