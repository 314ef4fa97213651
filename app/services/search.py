"""Full-text search over listed services. The only module that imports Whoosh.

How it fits together
--------------------
* **The index** (Whoosh, under ``SEARCH_INDEX_DIR``) holds one document per listed service
  (published, from a verified provider): its words in five weighted fields (title,
  category, provider, description, places) and, stored beside them, the few facts that
  filters, facets, ordering and result cards need (price, unit, ratings, days, areas,
  framework lots...). Result pages are drawn from the index alone, so what a card says
  always agrees with the filters and the order it was found by.
* **Writing** is done by one process at a time, holding an exclusive ``flock`` on
  ``drain.lock`` in the index folder (released by the kernel if the process dies). Writers
  of data never touch the index: their changes are queued in the ``search_outbox`` table
  in the same transaction (services/search_outbox.py), and ``drain()`` rewrites the
  affected documents and then deletes exactly the outbox rows it took in. A worker that
  dies mid-way leaves its rows queued; a drain that cannot get the lock leaves them for
  the process holding it, which looks again after letting go. Nobody ever waits on
  Whoosh's own lock, so no ``LockError`` reaches a person.
* ``rebuild()`` (``flask search rebuild``) writes every document into one new segment and
  swaps it in atomically (Whoosh's CLEAR merge): searches carry on against the old
  generation until the new one is committed.
* **Searching** happens in each worker against an in-memory *snapshot* of the current
  index generation. Whatever can be worked out for one Whoosh segment is, once, and kept
  for the segment's life (``_Segment``): its documents' facts as byte and integer columns,
  sets of its documents as bitsets (services/bitsets.py) for each word and filter, and
  each framework lot's members in rank order with their scores, for a given state of the
  lot. An edit adds a small segment and marks old documents deleted, so a new snapshot only
  reads the new documents and joins columns (``_Snapshot``). A query becomes bitsets for its
  words (with synonyms and stemming) and for each filter; their intersections give
  results, totals and facet counts; the few results of a page are then picked in order,
  merging the segments' orders, without scoring the rest.
* **Framework ranks** (``_Ranking``) are the ranking service's: every score comes from
  ``ranking.member_score`` (the rule's one statement) and every rank from
  ``ranking.make_rank``; the index only keeps the scores and counts. A lot's name and
  weights are read from the database for each search (they are not in the index, so a
  change of weights rewrites nothing); its cheapest price per unit and average quality
  are totals kept per segment less what was deleted; a result's rank is counted from the
  lot's sorted scores, and its reasons are written only when shown. The public service
  page asks ``listed_service_rank`` rather than loading every member of the lot.

Relevance is BM25F with k1 = 0: each query word (or synonym group) scores its inverse
document frequency times the weight of the best field it appears in (title 8, category 6,
provider 4, description 3, places 2), so a listing that repeats a word gains nothing.
Results fall into four bands by how much of the best possible score they reach; within a
band, providers on the council framework come first in framework rank order, then the
others by CQC quality. That is "framework providers first where relevance is comparable".
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import fcntl
import heapq
import itertools
import logging
import math
import os
import re
import threading
import time
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from sqlalchemy import Integer, cast, distinct, func, literal_column, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from whoosh import fields as wfields
from whoosh import index as windex
from whoosh import qparser
from whoosh import query as wquery
from whoosh.analysis import CharsetFilter, Filter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.index import LockError
from whoosh.matching.wrappers import FilterMatcher
from whoosh.spelling import ListCorrector
from whoosh.support.charset import accent_map
from whoosh.writing import CLEAR

from app.database import sqlite_begin_mode, utcnow
from app.extensions import db
from app.models import (
    Category,
    CQCRating,
    FrameworkLot,
    FrameworkMembership,
    FundingRoute,
    MembershipStatus,
    OutboxEntity,
    PostcodeDistrict,
    PriceUnit,
    Provider,
    ProviderArea,
    ProviderStatus,
    SearchOutboxEntry,
    Service,
    ServiceHours,
    ServiceStatus,
)
from app.services import bitsets, ranking, search_params, synonyms
from app.services.errors import DomainError, ValidationError
from app.services.geo import UNKNOWN_POSTCODE, miles_between
from app.services.pagination import Page
from app.services.search_params import CATEGORY_INVALID, PER_PAGE, SearchParams, Sort

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: ratings as small codes, lots as ids only (their settings are read at search time)
# A changed schema or synonym list gives the index a new name: the old one then reads as
# missing and `flask search rebuild` builds the new one beside it.
INDEX_NAME = f"services_v{SCHEMA_VERSION}_{synonyms.fingerprint()}"
LOCK_FILE = "drain.lock"
CONCEPT_PREFIX = "zsyn"  # tokens standing for a synonym group ("zsynrespite")
TEXT_FIELDS = ("title", "category", "provider", "description", "places")
FIELD_WEIGHTS = {"title": 8, "category": 6, "provider": 4, "description": 3, "places": 2}
MAX_SCORED_UNITS = 8
MAX_EXPANSIONS = 50  # terms a wildcard or fuzzy word may stand for
MAX_NESTING = 6
DRAIN_BATCH = 500
BUILD_MEMORY_MB = 384  # per indexing process
# A large rebuild indexes in two processes (Whoosh's multiprocessing writer, each writing
# its own segment); small ones are not worth the fork.
BUILD_PROCESSES = min(2, os.cpu_count() or 1)
PARALLEL_BUILD_FROM = 5_000
# Each segment's files stay separate: a compound segment is read through a copy of the
# whole file made by every new searcher (Whoosh's BufferFile), which cost a region's index
# about 25 ms and a copy of the index in memory on every refresh.
COMPOUND_SEGMENTS = False
PENDING_CHECK_SECONDS = 1.0
STALE_AFTER_SECONDS = 60
RELEVANCE_BANDS = 4


class SearchUnavailable(DomainError):
    """The index is missing or cannot be read: `flask search rebuild` builds it."""


# Analysis ----------------------------------------------------------------------------------

# Agent nouns that the Porter stemmer leaves alone but people mean as the activity:
# "carer"/"carers" find care, "cleaner" finds cleaning.
LEMMAS = {"carer": "care", "cleaner": "clean", "helper": "help", "sitter": "sit", "driver": "drive", "befriend": "befriend"}


class IndexExpansionFilter(Filter):
    """At indexing time only (queries are expanded by search.py itself):

    * a word in ``LEMMAS`` is indexed under both forms ("carers" as carer and care), so
      searching "care" finds carers' support and "carers" finds care;
    * after every run of words that spells a phrase of a synonym group, the group's token
      is added: "domiciliary care" also indexes ``zsynhome-care``, as does "home care", so
      searching for either finds both.
    """

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


def _base_analyzer():
    return RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map) | StopFilter(minsize=2) | StemFilter(cachesize=100_000)


def _lemma(word: str) -> str:
    return LEMMAS.get(word, word)


def _concept_phrases() -> dict[tuple[str, ...], str]:
    plain = _base_analyzer()
    phrases: dict[tuple[str, ...], str] = {}
    for group, words in synonyms.SYNONYM_GROUPS.items():
        token = CONCEPT_PREFIX + group
        for phrase in words:
            stems = tuple(_lemma(t.text) for t in plain(phrase, mode="query"))
            if stems:
                phrases.setdefault(stems, token)
    return phrases


CONCEPT_PHRASES = _concept_phrases()
_LONGEST_PHRASE = max(len(p) for p in CONCEPT_PHRASES)


def analyzer():
    return _base_analyzer() | IndexExpansionFilter(CONCEPT_PHRASES, _LONGEST_PHRASE)


def build_schema() -> wfields.Schema:
    ana = analyzer()
    return wfields.Schema(
        # Every field is scorable: Whoosh then keeps a length column per field, which
        # spares it a file-system check per posting when it writes (40% of build time).
        sid=wfields.KEYWORD(stored=True, unique=True, scorable=True),
        title=wfields.TEXT(analyzer=ana, spelling=True),
        category=wfields.TEXT(analyzer=ana, spelling=True),
        provider=wfields.TEXT(analyzer=ana),
        description=wfields.TEXT(analyzer=ana, spelling=True),
        places=wfields.TEXT(analyzer=ana, phrase=False),
        attrs=wfields.STORED(),
    )


SCHEMA = build_schema()

# What each document stores, by position (a tuple keeps the index small and fast to load).
A_ID, A_PROVIDER_ID, A_PROVIDER, A_TITLE, A_CATEGORY, A_PRICE, A_UNIT, A_MIN_UNITS = range(8)
A_FUNDING, A_DAYS, A_RATINGS, A_REGULATED, A_BASE, A_RADIUS, A_AREAS, A_LOTS = range(8, 16)
ATTR_COUNT = 16
FUNDING_BITS = {FundingRoute.PERSONAL_BUDGET: 1, FundingRoute.PREPAID_CARD: 2, FundingRoute.SELF_FUNDER: 4}
RATING_CODES = {None: 0, CQCRating.INADEQUATE: 1, CQCRating.REQUIRES_IMPROVEMENT: 2, CQCRating.GOOD: 3, CQCRating.OUTSTANDING: 4}
RATING_OF_CODE = {code: rating for rating, code in RATING_CODES.items()}


# The index on disk -------------------------------------------------------------------------


def index_dir_from_config() -> str:
    return current_app.config["SEARCH_INDEX_DIR"]


_TOC_RE = re.compile(rf"^_{re.escape(INDEX_NAME)}_\d+\.toc$")


def index_exists(index_dir: str) -> bool:
    """Whether the current index (this schema and synonym list) has been built here."""
    try:
        return any(_TOC_RE.match(name) for name in os.listdir(index_dir))
    except OSError:
        return False


def _open(index_dir: str):
    # Always with our own schema: Whoosh would otherwise unpickle the one saved in the
    # index, which names this module's analyser classes as they were when it was built.
    return windex.open_dir(index_dir, indexname=INDEX_NAME, schema=SCHEMA)


@contextmanager
def index_lock(index_dir: str, *, wait: float = 0.0) -> Iterator[bool]:
    """Hold the one-writer lock of the index folder. Yields False if another process
    (or thread) holds it and it was not freed within ``wait`` seconds."""
    os.makedirs(index_dir, exist_ok=True)
    fd = os.open(os.path.join(index_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    acquired = False
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                acquired = True
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    break
                time.sleep(0.05)
        yield acquired
    finally:
        if acquired:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _outbox_table():
    return SearchOutboxEntry.__table__


def pending_changes(conn: Connection | None = None) -> tuple[int, float | None]:
    """How many changes wait for the index, and the age in seconds of the oldest."""
    table = _outbox_table()
    executor = conn if conn is not None else db.session
    count, oldest = executor.execute(select(func.count(), func.min(table.c.queued_at))).one()
    if not count:
        return 0, None
    if oldest.tzinfo is None:  # SQLite hands back naive UTC through Core
        import datetime as dt

        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(count), max(0.0, (utcnow() - oldest).total_seconds())


def index_status(index_dir: str) -> dict:
    """For /health: is the index there, readable, and up to date with the data?"""
    if not index_exists(index_dir):
        return {"ok": False, "state": "missing", "detail": "Run `flask search rebuild` to build it."}
    try:
        ix = _open(index_dir)
        with ix.searcher() as searcher:
            documents = searcher.doc_count()
        built_at = os.path.getmtime(os.path.join(index_dir, f"_{INDEX_NAME}_{ix.latest_generation()}.toc"))
    except Exception as exc:  # a corrupt or unreadable index must show as such, not crash /health
        return {"ok": False, "state": "unreadable", "detail": exc.__class__.__name__}
    report = {"ok": True, "state": "ready", "documents": documents, "last_written_at": _iso(built_at)}
    try:
        # On a connection of its own: the caller's session may hold an older snapshot.
        with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
            pending, oldest = pending_changes(conn)
            listed = listed_count_on(conn)
    except SQLAlchemyError:
        return report
    report["listed_services"] = listed
    if pending:
        report.update(state="behind", pending_changes=pending, oldest_change_age_seconds=round(oldest, 1))
        if oldest > STALE_AFTER_SECONDS:
            report.update(ok=False, detail="Changes are waiting for the index: run `flask search drain`.")
    elif documents != listed:
        report.update(
            ok=False,
            state="out_of_step",
            detail=f"The index has {documents} services but {listed} are listed: run `flask search rebuild`.",
        )
    return report


def _iso(timestamp: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


# Documents from the database ---------------------------------------------------------------


@dataclass
class _Reference:
    """The small tables every document needs, read once per batch of work."""

    categories: dict[int, tuple[str, str]]  # id -> (slug, name)
    towns: dict[str, str]  # district -> post town
    lots: dict[int, list[int]]  # category id -> its lots' ids, oldest first
    approved: set[tuple[int, int]]  # (provider id, lot id)

    @classmethod
    def load(cls, conn: Connection) -> _Reference:
        categories = {
            r.id: (r.slug, r.name)
            for r in conn.execute(select(Category.__table__.c.id, Category.__table__.c.slug, Category.__table__.c.name))
        }
        towns = dict(conn.execute(select(PostcodeDistrict.__table__.c.outward_code, PostcodeDistrict.__table__.c.post_town)).all())
        lot_t = FrameworkLot.__table__
        lots: dict[int, list] = {}
        for r in conn.execute(select(lot_t.c.id, lot_t.c.category_id).order_by(lot_t.c.id)):
            lots.setdefault(r.category_id, []).append(r.id)
        m = FrameworkMembership.__table__
        approved = {
            (r.provider_id, r.lot_id)
            for r in conn.execute(select(m.c.provider_id, m.c.lot_id).where(m.c.status == MembershipStatus.APPROVED))
        }
        return cls(categories, towns, lots, approved)


def _chunks(items: Sequence[int], size: int = 500) -> Iterator[Sequence[int]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _providers(conn: Connection, provider_ids: Iterable[int] | None) -> tuple[dict[int, object], dict[int, list[str]]]:
    p, a = Provider.__table__, ProviderArea.__table__
    columns = (
        p.c.id,
        p.c.name,
        p.c.town,
        p.c.base_district,
        p.c.service_radius_miles,
        p.c.cqc_location_id,
        p.c.cqc_overall,
        p.c.cqc_safe,
        p.c.cqc_effective,
        p.c.cqc_caring,
        p.c.cqc_responsive,
        p.c.cqc_well_led,
    )
    providers: dict[int, object] = {}
    areas: dict[int, list[str]] = {}
    base_query = select(*columns).where(p.c.status == ProviderStatus.VERIFIED)
    area_query = select(a.c.provider_id, a.c.outward_code).order_by(a.c.provider_id, a.c.outward_code)
    if provider_ids is None:
        providers = {r.id: r for r in conn.execute(base_query)}
        for pid, code in conn.execute(area_query):
            areas.setdefault(pid, []).append(code)
        return providers, areas
    ids = sorted(set(provider_ids))
    for chunk in _chunks(ids):
        providers.update({r.id: r for r in conn.execute(base_query.where(p.c.id.in_(chunk)))})
        for pid, code in conn.execute(area_query.where(a.c.provider_id.in_(chunk))):
            areas.setdefault(pid, []).append(code)
    return providers, areas


def _day_masks(conn: Connection, service_ids: Sequence[int] | None) -> dict[int, int]:
    h = ServiceHours.__table__
    day_bit = literal_column("1").op("<<")(cast(h.c.weekday, Integer))
    query = select(h.c.service_id, func.sum(distinct(day_bit))).group_by(h.c.service_id)
    if service_ids is None:
        return dict(conn.execute(query).all())
    masks: dict[int, int] = {}
    for chunk in _chunks(list(service_ids)):
        masks.update(conn.execute(query.where(h.c.service_id.in_(chunk))).all())
    return masks


def _service_query():
    s, p = Service.__table__, Provider.__table__
    return (
        select(
            s.c.id,
            s.c.provider_id,
            s.c.category_id,
            s.c.title,
            s.c.description,
            s.c.availability_note,
            s.c.price_pence,
            s.c.price_unit,
            s.c.min_units,
            s.c.accepts_personal_budget,
            s.c.accepts_prepaid_card,
            s.c.accepts_self_funder,
        )
        .join(p, p.c.id == s.c.provider_id)
        .where(s.c.status == ServiceStatus.PUBLISHED, p.c.status == ProviderStatus.VERIFIED)
    )


def _document(row, provider, areas: list[str], days: int, ref: _Reference) -> dict:
    slug, category_name = ref.categories[row.category_id]
    lots = tuple(lot for lot in ref.lots.get(row.category_id, ()) if (row.provider_id, lot) in ref.approved)
    funding = (
        (FUNDING_BITS[FundingRoute.PERSONAL_BUDGET] if row.accepts_personal_budget else 0)
        | (FUNDING_BITS[FundingRoute.PREPAID_CARD] if row.accepts_prepaid_card else 0)
        | (FUNDING_BITS[FundingRoute.SELF_FUNDER] if row.accepts_self_funder else 0)
    )
    ratings = tuple(
        RATING_CODES[r]
        for r in (
            provider.cqc_overall,
            provider.cqc_safe,
            provider.cqc_effective,
            provider.cqc_caring,
            provider.cqc_responsive,
            provider.cqc_well_led,
        )
    )
    # Place words: the base district and the towns served (a postcode search covers the
    # listed districts themselves, so their codes need no postings).
    places: list[str] = [provider.base_district] if provider.base_district else []
    for word in [provider.town] + [ref.towns.get(code) for code in [provider.base_district, *areas]]:
        if word and word not in places:
            places.append(word)
    attrs = (
        row.id,
        row.provider_id,
        provider.name,
        row.title,
        slug,
        row.price_pence,
        row.price_unit.value,
        row.min_units,
        funding,
        days,
        ratings,
        bool(provider.cqc_location_id),
        provider.base_district,
        provider.service_radius_miles,
        tuple(areas),
        lots,
    )
    description = row.description + ("\n" + row.availability_note if row.availability_note else "")
    return {
        "sid": str(row.id),
        "title": row.title,
        "category": category_name,
        "provider": provider.name,
        "description": description,
        "places": " ".join(places),
        "attrs": attrs,
    }


def _documents(conn: Connection, service_ids: Sequence[int] | None, ref: _Reference) -> Iterator[tuple[int, dict]]:
    """(service id, document) for every listed service among ``service_ids`` (all when
    None), in provider order."""
    query = _service_query()
    s = Service.__table__
    if service_ids is None:
        days = _day_masks(conn, None)
        providers, areas = _providers(conn, None)
        rows = conn.execution_options(stream_results=True, yield_per=2000).execute(query.order_by(s.c.provider_id, s.c.id))
        for row in rows:
            provider = providers.get(row.provider_id)
            if provider is not None:
                yield row.id, _document(row, provider, areas.get(row.provider_id, []), days.get(row.id, 0), ref)
        return
    for chunk in _chunks(sorted(service_ids)):
        rows = conn.execute(query.where(s.c.id.in_(chunk)).order_by(s.c.provider_id, s.c.id)).all()
        if not rows:
            continue
        days = _day_masks(conn, [r.id for r in rows])
        providers, areas = _providers(conn, {r.provider_id for r in rows})
        for row in rows:
            provider = providers.get(row.provider_id)
            if provider is not None:
                yield row.id, _document(row, provider, areas.get(row.provider_id, []), days.get(row.id, 0), ref)


def _expand(conn: Connection, entries: Iterable[tuple[str, int]]) -> set[int]:
    """The services whose documents an outbox batch asks to rewrite."""
    s = Service.__table__
    service_ids: set[int] = set()
    by_kind: dict[str, set[int]] = {}
    for entity, entity_id in entries:
        by_kind.setdefault(OutboxEntity(entity).value, set()).add(entity_id)
    service_ids |= by_kind.get(OutboxEntity.SERVICE.value, set())
    for kind, column in ((OutboxEntity.PROVIDER.value, s.c.provider_id), (OutboxEntity.CATEGORY.value, s.c.category_id)):
        ids = sorted(by_kind.get(kind, ()))
        for chunk in _chunks(ids):
            service_ids.update(conn.execute(select(s.c.id).where(column.in_(chunk))).scalars())
    return service_ids


# Draining the outbox and rebuilding ---------------------------------------------------------


@dataclass
class DrainReport:
    # "done"; "busy" (another process holds the lock); "missing" (no index); "deferred" (a
    # batch was larger than the caller wanted to wait for: left queued, untouched)
    state: str
    entries: int = 0
    documents: int = 0
    batches: int = 0


def drain(index_dir: str | None = None, *, wait: float = 0.0, max_documents: int | None = None) -> DrainReport:
    """Take every queued change into the index, one writer at a time.

    Returns "busy" without waiting (unless ``wait``) when another process is draining: that
    process looks at the outbox again after releasing the lock, so nothing is stranded.
    With ``max_documents``, a batch that would rewrite more documents than that is left
    queued ("deferred"), for a drain that can take its time."""
    index_dir = index_dir or index_dir_from_config()
    total = DrainReport("done")
    while True:
        if not index_exists(index_dir):
            return DrainReport("missing")
        with index_lock(index_dir, wait=wait) as acquired:
            if not acquired:
                total.state = "busy" if total.batches == 0 else total.state
                return total
            ix = _open(index_dir)
            while True:
                done = _drain_batch(ix, max_documents)
                if done is None:
                    break
                if done == "deferred":
                    total.state = "deferred"
                    return total
                total.entries += done[0]
                total.documents += done[1]
                total.batches += 1
        # Changes committed while we held the lock, by processes that found it taken, are
        # ours to take: look again now that it is free.
        with db.engine.connect() as conn, sqlite_begin_mode("DEFERRED"):
            if not pending_changes(conn)[0]:
                return total


def _drain_batch(ix, max_documents: int | None = None):
    table = _outbox_table()
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        rows = conn.execute(select(table.c.id, table.c.entity, table.c.entity_id).order_by(table.c.id).limit(DRAIN_BATCH)).all()
        if not rows:
            return None
        entries = {(r.entity.value if hasattr(r.entity, "value") else r.entity, r.entity_id) for r in rows}
        service_ids = _expand(conn, entries)
        if max_documents is not None and len(service_ids) > max_documents:
            conn.rollback()
            return "deferred"
        ref = _Reference.load(conn)
        documents = dict(_documents(conn, sorted(service_ids), ref))
        conn.rollback()
    writer = ix.writer(timeout=10.0, delay=0.05, compound=COMPOUND_SEGMENTS)
    try:
        for service_id in service_ids:
            writer.delete_by_term("sid", str(service_id))
        for doc in documents.values():
            writer.add_document(**doc)
        writer.commit()
    except BaseException:
        writer.cancel()
        raise
    _delete_outbox_rows([r.id for r in rows])
    return len(rows), len(documents)


def _delete_outbox_rows(ids: Sequence[int]) -> None:
    table = _outbox_table()
    with sqlite_begin_mode("IMMEDIATE"), db.engine.begin() as conn:
        for chunk in _chunks(list(ids)):
            conn.execute(table.delete().where(table.c.id.in_(chunk)))


_drain_guard = threading.local()
# A request (a commit's own drain, a search catching up) takes in at most this many
# documents itself; more (a category renamed, a district's town changed) is taken in by a
# background thread of the same process, so nobody waits seconds for a page.
REQUEST_DRAIN_DOCUMENTS = 500
_background_lock = threading.Lock()
_background: dict[str, threading.Thread] = {}


def drain_soon() -> None:
    """Called after a commit that queued changes: take them in now if nobody else is.
    Never raises: a failure leaves the changes queued for the next drain."""
    if not has_app_context() or getattr(_drain_guard, "active", False):
        return
    index_dir = current_app.config.get("SEARCH_INDEX_DIR")
    if not index_dir or not index_exists(index_dir):
        return
    _drain_guard.active = True
    try:
        _drain_from_request(index_dir)
    except (LockError, OSError, SQLAlchemyError, Exception):
        log.exception("Search index drain failed; the changes stay queued")
    finally:
        _drain_guard.active = False


def _drain_from_request(index_dir: str) -> DrainReport:
    report = drain(index_dir, max_documents=REQUEST_DRAIN_DOCUMENTS)
    if report.state == "deferred":
        drain_in_background(index_dir)
    return report


def drain_in_background(index_dir: str) -> threading.Thread:
    """Drain in a thread of this process (one at a time per index). If the process dies,
    the changes are still queued: any later drain takes them."""
    app = current_app._get_current_object()
    with _background_lock:
        thread = _background.get(index_dir)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_background_drain, args=(app, index_dir), name="search-drain", daemon=True)
            _background[index_dir] = thread
            thread.start()
        return thread


def _background_drain(app, index_dir: str) -> None:
    with app.app_context():
        try:
            drain(index_dir, wait=120.0)
        except Exception:
            log.exception("Background search index drain failed; the changes stay queued")
        finally:
            db.session.remove()


def background_drain(index_dir: str | None = None) -> threading.Thread | None:
    """The background drain thread of this process for the index, if one was started."""
    return _background.get(index_dir or index_dir_from_config())


@dataclass
class RebuildReport:
    documents: int
    seconds: float
    pending_after: int


def rebuild(index_dir: str | None = None, *, progress: Callable[[int, int], None] | None = None, wait: float = 300.0) -> RebuildReport:
    """Write every listed service into a fresh index generation, atomically replacing
    what was there. Safe to re-run; readers carry on with the old generation meanwhile."""
    index_dir = index_dir or index_dir_from_config()
    started = time.monotonic()
    os.makedirs(index_dir, exist_ok=True)
    with index_lock(index_dir, wait=wait) as acquired:
        if not acquired:
            raise SearchUnavailable("Another process is writing the search index: try again when it has finished.")
        table = _outbox_table()
        with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
            # The queued changes already committed are in what we are about to read.
            covered = list(conn.execute(select(table.c.id)).scalars())
            total = listed_count_on(conn)
            ref = _Reference.load(conn)
            ix = _open(index_dir) if index_exists(index_dir) else windex.create_in(index_dir, SCHEMA, indexname=INDEX_NAME)
            procs = BUILD_PROCESSES if total >= PARALLEL_BUILD_FROM else 1
            writer = ix.writer(limitmb=BUILD_MEMORY_MB, timeout=30.0, procs=procs, multisegment=procs > 1, compound=COMPOUND_SEGMENTS)
            count = 0
            try:
                for _, doc in _documents(conn, None, ref):
                    writer.add_document(**doc)
                    count += 1
                    if progress and count % 1000 == 0:
                        progress(count, total)
                writer.commit(mergetype=CLEAR)
            except BaseException:
                writer.cancel()
                raise
            conn.rollback()
        if progress:
            progress(count, max(total, count))
        _delete_outbox_rows(covered)
        _remove_other_indexes(index_dir)
    drain(index_dir, wait=5.0)
    with db.engine.connect() as conn:
        pending = pending_changes(conn)[0]
    return RebuildReport(documents=count, seconds=time.monotonic() - started, pending_after=pending)


def listed_count_on(conn: Connection) -> int:
    s, p = Service.__table__, Provider.__table__
    return conn.execute(
        select(func.count())
        .select_from(s.join(p, p.c.id == s.c.provider_id))
        .where(s.c.status == ServiceStatus.PUBLISHED, p.c.status == ProviderStatus.VERIFIED)
    ).scalar_one()


def _remove_other_indexes(index_dir: str) -> None:
    """Delete the files of indexes built with an older schema or synonym list."""
    pattern = re.compile(r"^_?(services_v\d+_[0-9a-f]{8})_")
    for name in os.listdir(index_dir):
        match = pattern.match(name)
        if match and match.group(1) != INDEX_NAME:
            with contextlib.suppress(OSError):  # another process got there first
                os.remove(os.path.join(index_dir, name))


# The in-memory snapshot of one index generation -------------------------------------------


class _LRU:
    def __init__(self, size: int):
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, make: Callable[[], object]):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            if len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


NO_QUALITY = 255  # in a quality column: no CQC rating
_EMPTY_ATTRS = (0, 0, "", "", "", 0, "hour", 1, 0, 0, (0,) * 6, False, None, None, (), ())


class _Segment:
    """One Whoosh segment, read once and kept for as long as the segment lives (an edit
    adds a small segment and marks old documents deleted; it never changes a segment).

    Its documents' stored facts, as compact columns (bytes and arrays: cheap to join, and
    nothing for the garbage collector to walk), indexes by place and by lot, and caches of
    bitsets of its own document numbers (deleted documents included: the snapshot masks
    them out) and of framework orders for a given state of a lot."""

    def __init__(self, reader):
        self.id = reader.segment().segment_id()
        self.size = size = reader.doc_count_all()
        intern_cache: dict = {}

        def shared(value):
            return intern_cache.setdefault(value, value)

        stored = getattr(reader, "_perdoc", None)
        read = stored.stored_fields if stored is not None else reader.stored_fields
        attrs = []
        for docnum in range(size):
            a = read(docnum).get("attrs")
            if a is None or len(a) != ATTR_COUNT:
                a = _EMPTY_ATTRS
            a = list(a)
            for i in (A_PROVIDER, A_CATEGORY, A_UNIT, A_RATINGS, A_BASE, A_AREAS, A_LOTS):
                a[i] = shared(a[i] if not isinstance(a[i], list) else tuple(a[i]))
            attrs.append(tuple(a))
        self.attrs = attrs

        self.category_code = {slug: i + 1 for i, slug in enumerate(sorted({a[A_CATEGORY] for a in attrs if a[A_CATEGORY]})[:250])}
        code = self.category_code
        self.col_category = bytes(code.get(a[A_CATEGORY], 0) for a in attrs)
        self.col_funding = bytes(a[A_FUNDING] & 0xFF for a in attrs)
        self.col_days = bytes(a[A_DAYS] & 0x7F for a in attrs)
        self.col_rating = bytes(a[A_RATINGS][0] for a in attrs)
        quality_of: dict[tuple, int] = {}
        for ratings in {a[A_RATINGS] for a in attrs}:
            q = ranking.quality_from_ratings(_rating(ratings[0]), tuple(_rating(r) for r in ratings[1:]))
            quality_of[ratings] = NO_QUALITY if q is None else q
        self.quality = bytes(quality_of[a[A_RATINGS]] for a in attrs)
        self.prices = array("q", (a[A_PRICE] for a in attrs))
        self.ids = array("q", (a[A_ID] for a in attrs))
        self.first_lot = array("q", (a[A_LOTS][0] if a[A_LOTS] else 0 for a in attrs))

        # Lots: members (by the first lot of their category the provider is approved on, as
        # the ranking service does), members by price for each unit, rated totals.
        lot_docs: dict[int, list[int]] = {}
        for n, lot in enumerate(self.first_lot):
            if lot:
                lot_docs.setdefault(lot, []).append(n)
        prices, quality = self.prices, self.quality
        self.lot_docs = {lot: array("q", docs) for lot, docs in lot_docs.items()}
        self.lot_units: dict[int, dict[str, array]] = {}
        self.lot_rated: dict[int, tuple[int, int]] = {}
        for lot, docs in lot_docs.items():
            by_unit: dict[str, list[int]] = {}
            for n in docs:
                by_unit.setdefault(attrs[n][A_UNIT], []).append(n)
            self.lot_units[lot] = {unit: array("q", sorted(ds, key=prices.__getitem__)) for unit, ds in by_unit.items()}
            rated = [quality[n] for n in docs if quality[n] != NO_QUALITY]
            self.lot_rated[lot] = (sum(rated), len(rated))
        rated_all = [q for q in quality if q != NO_QUALITY]
        self.rated = (sum(rated_all), len(rated_all))

        # Places: documents by their provider's base district, listed areas and own radius.
        self.base_docs: dict[str, list[int]] = {}
        self.area_docs: dict[str, list[int]] = {}
        self.radius_docs: dict[tuple[str, int], list[int]] = {}
        for n, a in enumerate(attrs):
            base, radius = a[A_BASE], a[A_RADIUS]
            if not a[A_ID]:
                continue
            if base:
                self.base_docs.setdefault(base, []).append(n)
                if radius:
                    self.radius_docs.setdefault((base, radius), []).append(n)
            for area in a[A_AREAS]:
                self.area_docs.setdefault(area, []).append(n)

        # Every document by price (then id): for "cheapest first" and price limits.
        ids = self.ids
        self.by_price = array("q", sorted(range(size), key=lambda n: (prices[n], ids[n])))
        self.missing = [n for n in range(size) if not ids[n]]  # unreadable: never shown
        self.sorted_prices = array("q", (prices[n] for n in self.by_price))
        self.terms = _LRU(4096)
        self.cache = _LRU(1024)
        # Lot orders are large (a key per member): keep the 24 used last (a few states of
        # each lot, and the runs of documents on no lot).
        self.runs = _LRU(24)

    def term_bits(self, reader, fieldname: str, term: str) -> int:
        def make() -> int:
            try:
                matcher = reader.postings(fieldname, term)
            except Exception:  # TermNotFound and friends: no documents
                return 0
            if isinstance(matcher, FilterMatcher):
                matcher = matcher.child  # the raw postings, deleted documents included
            return bitsets.from_positions(matcher.all_ids(), self.size)

        return self.terms.get((fieldname, term), make)

    def bits(self, key, make: Callable[[_Segment], int]) -> int:
        return self.cache.get(key, lambda: make(self))

    # Bitsets of this segment's documents, each worked out once for the segment's life.

    def category_bits(self, slug: str) -> int:
        code = self.category_code.get(slug)
        return bitsets.from_byte_column(self.col_category, {code}) if code else 0

    def price_bits(self, pence: int) -> int:
        return bitsets.from_positions(self.by_price[: bisect.bisect_right(self.sorted_prices, pence)], self.size)

    def near_bits(self, district: str, radius: int, distances: dict[str, float]) -> int:
        docs = list(self.area_docs.get(district, ()))
        for base, base_docs in self.base_docs.items():
            if distances.get(base, math.inf) <= radius:
                docs.extend(base_docs)
        for (base, own_radius), radius_docs in self.radius_docs.items():
            if distances.get(base, math.inf) <= own_radius:
                docs.extend(radius_docs)
        return bitsets.from_positions(docs, self.size)

    def words(self, reader, fieldname: str) -> frozenset[str]:
        def make():
            words = set()
            for b in reader.lexicon(fieldname):
                word = b.decode("utf-8") if isinstance(b, bytes) else b
                if not word.startswith(CONCEPT_PREFIX):
                    words.add(word)
            return frozenset(words)

        return self.cache.get(("words", fieldname), make)

    # Framework orders, for one state of a lot (weights, cheapest prices, average quality).

    def lot_run(self, lot: _LotState) -> tuple[list[int], array, list[int]]:
        """The lot's members in this segment in best-match order: (their order keys,
        their document numbers, their scores in ascending order, for counting ranks)."""

        def make():
            scored = []
            attrs, prices, quality, ids = self.attrs, self.prices, self.quality, self.ids
            for n in self.lot_docs.get(lot.id, ()):
                score, q, _ = lot.score(quality[n], prices[n], attrs[n][A_UNIT])
                scored.append((_order_key(0, score, q, prices[n], ids[n]), n, score))
            scored.sort()
            return [s[0] for s in scored], array("q", (s[1] for s in scored)), sorted(s[2] for s in scored)

        return self.runs.get(("lot", lot.key), make)

    def free_runs(self, unknown_lots: frozenset[int]) -> tuple[list[int], array, array]:
        """The documents of no (known) lot: the CQC-rated ones in best-match order with their
        keys, and the unrated ones by price (their place among the others depends on the
        average quality of the rated, which the snapshot knows)."""

        def make():
            first_lot, quality, prices, ids = self.first_lot, self.quality, self.prices, self.ids
            free = [n for n in range(self.size) if ids[n] and (not first_lot[n] or first_lot[n] in unknown_lots)]
            rated = sorted((_order_key(1, 0, quality[n], prices[n], ids[n]), n) for n in free if quality[n] != NO_QUALITY)
            unrated = sorted((n for n in free if quality[n] == NO_QUALITY), key=lambda n: (prices[n], ids[n]))
            return [k for k, _ in rated], array("q", (n for _, n in rated)), array("q", unrated)

        return self.runs.get(("free", unknown_lots), make)

    def unrated_keys(self, unknown_lots: frozenset[int], neutral: int) -> list[int]:
        def make():
            prices, ids = self.prices, self.ids
            return [_order_key(1, 0, neutral, prices[n], ids[n]) for n in self.free_runs(unknown_lots)[2]]

        return self.runs.get(("unrated", unknown_lots, neutral), make)


def _order_key(group: int, score: int, quality: int, price: int, service_id: int) -> int:
    """Best-match order as one integer, smallest first: framework members (group 0) by
    score, then quality, then price; then everyone else (group 1) by CQC quality, then
    price; the service id last, so that the order is total."""
    head = (group * (MAX_SCORE + 1) + (MAX_SCORE - min(MAX_SCORE, score))) * 101 + (100 - quality)
    return (((head << 20) | min(price, (1 << 20) - 1)) << 32) | (service_id & 0xFFFFFFFF)


MAX_SCORE = 10_000  # a score out of 100, times 100


class _LotState:
    """A framework lot as it stands in one snapshot: its settings (from the database) and
    what its live members make of it (the cheapest price for each unit, the average
    quality of the rated ones)."""

    __slots__ = ("any_rated", "average", "cheapest", "id", "info", "key", "members")

    def __init__(self, info: ranking.LotInfo, cheapest: dict[str, int], average: int, any_rated: bool, members: int):
        self.info, self.id = info, info.id
        self.cheapest, self.average, self.any_rated, self.members = cheapest, average, any_rated, members
        # What the members' scores and order depend on: segments cache their runs by it.
        self.key = (info.id, info.quality_weight, info.price_weight, tuple(sorted(cheapest.items())), average)

    def score(self, quality: int, price: int, unit: str) -> tuple[int, int, int]:
        """(score x 100, quality used, price score), by the ranking service's own rule."""
        return ranking.member_score(
            self.info, None if quality == NO_QUALITY else quality, price, self.cheapest.get(unit, price), self.average
        )


class _Ranking:
    """Framework ranks and the best-match order, for one snapshot and one state of the
    lots' settings. Nothing here walks every document: lot facts are totals kept per
    segment less what was deleted since, and orders are kept per segment (for each state
    of a lot) and merged as a page is taken."""

    def __init__(self, snap: _Snapshot, lots: Mapping[int, ranking.LotInfo]):
        self.snap = snap
        present: set[int] = set()
        for seg, _, _ in snap.leaves:
            present.update(seg.lot_docs)
        removed = snap.deleted_totals()
        states: dict[int, _LotState] = {}
        for lot_id in sorted(present & set(lots)):
            cheapest: dict[str, int] = {}
            total = count = members = 0
            for (seg, _, _), deleted in zip(snap.leaves, snap.deleted):
                for unit, docs in seg.lot_units.get(lot_id, {}).items():
                    for n in docs:  # the first live one is the cheapest
                        if n not in deleted:
                            price = seg.prices[n]
                            if unit not in cheapest or price < cheapest[unit]:
                                cheapest[unit] = price
                            break
                t, c = seg.lot_rated.get(lot_id, (0, 0))
                total, count, members = total + t, count + c, members + len(seg.lot_docs.get(lot_id, ()))
            gone_total, gone_count, gone_members = removed["lots"].get(lot_id, (0, 0, 0))
            total, count, members = total - gone_total, count - gone_count, members - gone_members
            if members <= 0:
                continue
            states[lot_id] = _LotState(lots[lot_id], cheapest, ranking.average_quality(total, count), count > 0, members)
        self.lots = states
        self.unknown = frozenset(present - set(states))
        total, count = (sum(seg.rated[i] for seg, _, _ in snap.leaves) for i in (0, 1))
        self.neutral = ranking.average_quality(total - removed["rated"][0], count - removed["rated"][1])
        self._deleted_scores: dict[int, list[int]] = {}
        self._framework: int | None = None

    def lot_of(self, n: int) -> _LotState | None:
        return self.lots.get(self.snap.first_lot[n])

    def key(self, n: int) -> int:
        """Document ``n``'s place in the best-match order (smaller first)."""
        snap = self.snap
        quality, price, sid = snap.quality[n], snap.prices[n], snap.ids[n]
        lot = self.lots.get(snap.first_lot[n])
        if lot is not None:
            score, q, _ = lot.score(quality, price, snap.attrs[n][A_UNIT])
            return _order_key(0, score, q, price, sid)
        return _order_key(1, 0, self.neutral if quality == NO_QUALITY else quality, price, sid)

    def walk(self) -> Iterator[int]:
        """Every document in best-match order, merged from the segments' runs."""
        runs = []
        for seg, offset, _ in self.snap.leaves:
            for lot_id in seg.lot_docs:
                lot = self.lots.get(lot_id)
                if lot is not None:
                    keys, docs, _ = seg.lot_run(lot)
                    runs.append(zip(keys, _shifted(docs, offset)))
            unknown = self.unknown & seg.lot_docs.keys()
            keys, docs, unrated = seg.free_runs(frozenset(unknown))
            runs.append(zip(keys, _shifted(docs, offset)))
            runs.append(zip(seg.unrated_keys(frozenset(unknown), self.neutral), _shifted(unrated, offset)))
        return (n for _, n in heapq.merge(*runs))

    def framework(self) -> int:
        """Live documents ranked on a lot."""
        if self._framework is None:
            snap = self.snap
            bits = 0
            for seg, offset, _ in snap.leaves:
                for lot_id, docs in seg.lot_docs.items():
                    if lot_id in self.lots:
                        seg_bits = seg.bits(("lotbits", lot_id), lambda s, docs=docs: bitsets.from_positions(docs, s.size))
                        bits |= seg_bits << offset
            self._framework = bits & snap.live
        return self._framework

    def rank(self, n: int) -> ranking.ServiceRank | None:
        """Document ``n``'s rank on its lot, counted from the lot's scores in each segment."""
        lot = self.lot_of(n)
        if lot is None or not (self.snap.live >> n) & 1:
            return None
        snap = self.snap
        a = snap.attrs[n]
        score, quality, price = lot.score(snap.quality[n], snap.prices[n], a[A_UNIT])
        higher = same = 0
        for seg, _, _ in snap.leaves:
            if lot.id in seg.lot_docs:
                scores = seg.lot_run(lot)[2]
                above = bisect.bisect_right(scores, score)
                higher += len(scores) - above
                same += above - bisect.bisect_left(scores, score)
        gone = self._gone_scores(lot)
        above = bisect.bisect_right(gone, score)
        higher -= len(gone) - above
        same -= above - bisect.bisect_left(gone, score)
        ratings = a[A_RATINGS]
        member = ranking.Member(
            service_id=a[A_ID],
            title=a[A_TITLE],
            price_pence=a[A_PRICE],
            price_unit=PriceUnit(a[A_UNIT]),
            overall=_rating(ratings[0]),
            key_questions=tuple(_rating(r) for r in ratings[1:]),
            cqc_regulated=a[A_REGULATED],
        )
        return ranking.make_rank(
            lot.info,
            member,
            rank=higher + 1,
            of=lot.members,
            score=score,
            quality=quality,
            price=price,
            joint=same > 1,
            cheapest_pence=lot.cheapest.get(a[A_UNIT], a[A_PRICE]),
            average=lot.average,
            any_rated=lot.any_rated,
        )

    def _gone_scores(self, lot: _LotState) -> list[int]:
        """The scores of the lot's deleted documents (old versions of edited services)."""
        if lot.id not in self._deleted_scores:
            scores = []
            for (seg, _, _), deleted in zip(self.snap.leaves, self.snap.deleted):
                for n in deleted:
                    if seg.first_lot[n] == lot.id:
                        scores.append(lot.score(seg.quality[n], seg.prices[n], seg.attrs[n][A_UNIT])[0])
            self._deleted_scores[lot.id] = sorted(scores)
        return self._deleted_scores[lot.id]


def _shifted(docs: Sequence[int], offset: int) -> Iterable[int]:
    return docs if not offset else map(offset.__add__, docs)


class _Snapshot:
    """Everything a search needs about one generation of the index: the segments' columns
    joined end to end (cheap: bytes and arrays), which documents are live, and caches of
    bitsets for this generation, each made from the segments' own cached bitsets."""

    def __init__(self, generation: int, searcher, leaves: list[tuple[_Segment, int, object]]):
        self.generation = generation
        self.searcher = searcher
        self.leaves = leaves
        self.size = sum(seg.size for seg, _, _ in leaves)
        self.deleted: list[frozenset[int]] = []
        dead = []
        for seg, offset, reader in leaves:
            deleted = frozenset(reader.deleted_docs_set) if reader.has_deletions() else frozenset()
            self.deleted.append(deleted)
            dead.extend(offset + d for d in deleted)
            dead.extend(offset + n for n in seg.missing)
        self.live = bitsets.full(self.size) & ~bitsets.from_positions(dead, self.size) if dead else bitsets.full(self.size)
        self.attrs = list(itertools.chain.from_iterable(seg.attrs for seg, _, _ in leaves))
        self.prices = _joined(array("q"), (seg.prices for seg, _, _ in leaves))
        self.ids = _joined(array("q"), (seg.ids for seg, _, _ in leaves))
        self.first_lot = _joined(array("q"), (seg.first_lot for seg, _, _ in leaves))
        self.quality = b"".join(seg.quality for seg, _, _ in leaves)
        self.count = self.live.bit_count()
        self.cache = _LRU(2048)
        self._rankings: OrderedDict = OrderedDict()
        self._lock = threading.Lock()
        self._deleted_totals: dict | None = None

    def ranking(self, lots: Mapping[int, ranking.LotInfo]) -> _Ranking:
        """Ranks and order for the lots' current settings (read from the database for
        each search: a change of weights needs no rewriting of the index)."""
        key = tuple(lots[lot_id] for lot_id in sorted(lots))
        with self._lock:
            found = self._rankings.get(key)
            if found is None:
                found = self._rankings[key] = _Ranking(self, lots)
                while len(self._rankings) > 4:
                    self._rankings.popitem(last=False)
            return found

    def deleted_totals(self) -> dict:
        """What the deleted documents took with them: per lot (rated quality total, rated
        count, members), and over everything (rated quality total, rated count)."""
        if self._deleted_totals is None:
            lots: dict[int, list[int]] = {}
            rated = [0, 0]
            for (seg, _, _), deleted in zip(self.leaves, self.deleted):
                for n in deleted:
                    q = seg.quality[n]
                    lot = seg.first_lot[n]
                    if lot:
                        entry = lots.setdefault(lot, [0, 0, 0])
                        entry[2] += 1
                        if q != NO_QUALITY:
                            entry[0] += q
                            entry[1] += 1
                    if q != NO_QUALITY and seg.ids[n]:
                        rated[0] += q
                        rated[1] += 1
            self._deleted_totals = {"lots": {k: tuple(v) for k, v in lots.items()}, "rated": tuple(rated)}
        return self._deleted_totals

    def cached(self, key, make: Callable[[], int]) -> int:
        return self.cache.get(key, make)

    def combined(self, key, make: Callable[[_Segment], int]) -> int:
        """A bitset of this generation from each segment's own (cached for its life)."""

        def build() -> int:
            bits = 0
            for seg, offset, _ in self.leaves:
                seg_bits = seg.bits(key, make)
                if seg_bits:
                    bits |= seg_bits << offset
            return bits & self.live

        return self.cache.get(key, build)

    # Bitsets ------------------------------------------------------------------------------

    def term(self, fieldname: str, term: str) -> int:
        def make() -> int:
            bits = 0
            for seg, offset, reader in self.leaves:
                seg_bits = seg.term_bits(reader, fieldname, term)
                if seg_bits:
                    bits |= seg_bits << offset
            return bits & self.live

        return self.cached(("term", fieldname, term), make)

    def doc_frequency(self, term: str) -> int:
        return self.match_any(term).bit_count()

    def match_any(self, term: str) -> int:
        return self.cached(("any", term), lambda: _or(self.term(f, term) for f in TEXT_FIELDS))

    def phrase(self, fieldname: str, words: tuple[str, ...]) -> int:
        def make() -> int:
            q = wquery.Phrase(fieldname, list(words))
            return bitsets.from_positions(q.docs(self.searcher), self.size) & self.live

        return self.cached(("phrase", fieldname, words), make)

    def lexicon(self, fieldname: str) -> list[str]:
        def make():
            words: set[str] = set()
            for seg, _, reader in self.leaves:
                words |= seg.words(reader, fieldname)
            return sorted(words)

        return self.cache.get(("lexicon", fieldname), make)

    def category(self, slug: str) -> int:
        return self.combined(("category", slug), lambda seg: seg.category_bits(slug))

    def funding(self, route: FundingRoute) -> int:
        bit = FUNDING_BITS[route]
        return self.combined(("funding", bit), lambda seg: bitsets.from_byte_column(seg.col_funding, {v for v in range(256) if v & bit}))

    def day(self, day: int) -> int:
        bit = 1 << day
        return self.combined(("day", day), lambda seg: bitsets.from_byte_column(seg.col_days, {v for v in range(256) if v & bit}))

    def rating_at_least(self, rating: CQCRating) -> int:
        code = RATING_CODES[rating]
        return self.combined(("rating", code), lambda seg: bitsets.from_byte_column(seg.col_rating, set(range(code, 5))))

    def rating_exactly(self, code: int) -> int:
        return self.combined(("rating=", code), lambda seg: bitsets.from_byte_column(seg.col_rating, {code}))

    def max_price(self, pence: int) -> int:
        return self.combined(("price", pence), lambda seg: seg.price_bits(pence))

    def near(self, district: str, radius: int, distances: dict[str, float], version: int = 0) -> int:
        """Services whose provider is based within ``radius`` miles of the district, or
        lists it among its areas, or covers it with its own service radius."""
        return self.combined(("near", district, radius, version), lambda seg: seg.near_bits(district, radius, distances))

    def by_price(self) -> Iterator[tuple[int, int]]:
        """(price, document) for every document, cheapest first, merged from the segments."""
        runs = [zip(seg.sorted_prices, _shifted(seg.by_price, offset)) for seg, offset, _ in self.leaves]
        return heapq.merge(*runs)


def _joined(empty: array, parts: Iterable[array]) -> array:
    out = empty
    for part in parts:
        out += part
    return out


def _or(values: Iterable[int]) -> int:
    result = 0
    for v in values:
        result |= v
    return result


def _rating(code: int) -> CQCRating | None:
    """A rating from its code in the index."""
    return RATING_OF_CODE[code]


class Engine:
    """The search side of one process: the open index and the current snapshot."""

    def __init__(self, index_dir: str):
        self.index_dir = index_dir
        self._lock = threading.RLock()
        self._ix = None
        self._searcher = None
        self._snapshot: _Snapshot | None = None
        self._segments: dict[str, _Segment] = {}
        self._next_pending_check = 0.0

    def snapshot(self) -> _Snapshot:
        with self._lock:
            if not index_exists(self.index_dir):
                self._close()
                raise SearchUnavailable("The search index has not been built: run `flask search rebuild`.")
            try:
                if self._ix is None:
                    self._ix = _open(self.index_dir)
                generation = self._ix.latest_generation()
                if self._snapshot is None or self._snapshot.generation != generation:
                    self._refresh()
            except SearchUnavailable:
                raise
            except Exception as exc:  # unreadable: say so rather than fail the page
                log.exception("Search index could not be read")
                self._close()
                raise SearchUnavailable("The search index could not be read: run `flask search rebuild`.") from exc
            return self._snapshot

    def _refresh(self) -> None:
        # A new searcher per generation; the old one closes when the last search using the
        # old snapshot lets go of it. Segments we already know keep their loaded facts.
        generation = self._ix.latest_generation()
        self._searcher = self._ix.searcher()
        reader = self._searcher.reader()
        leaves = []
        keep: dict[str, _Segment] = {}
        for leaf, leaf_offset in reader.leaf_readers():
            if leaf.segment() is None:  # an index with no documents at all
                continue
            segid = leaf.segment().segment_id()
            seg = self._segments.get(segid) or _Segment(leaf)
            keep[segid] = seg
            leaves.append((seg, leaf_offset, leaf))
        self._segments = keep
        self._snapshot = _Snapshot(generation, self._searcher, leaves)

    def _close(self) -> None:
        if self._searcher is not None:
            with contextlib.suppress(Exception):  # closing a broken reader
                self._searcher.close()
        self._ix = self._searcher = self._snapshot = None
        self._segments = {}

    def catch_up(self) -> None:
        """At most once a second, take in queued changes if a writer left any (its process
        died, or its drain failed)."""
        now = time.monotonic()
        if now < self._next_pending_check:
            return
        self._next_pending_check = now + PENDING_CHECK_SECONDS
        try:
            with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
                pending = pending_changes(conn)[0]
            if pending:
                _drain_from_request(self.index_dir)
        except Exception:
            log.exception("Search index catch-up failed; searching the index as it is")


_engines_lock = threading.Lock()


def engine(index_dir: str | None = None) -> Engine:
    """This process's engine for the app's index folder."""
    app = current_app._get_current_object()
    index_dir = index_dir or app.config["SEARCH_INDEX_DIR"]
    engines = app.extensions.setdefault("search_engines", {})
    with _engines_lock:
        if index_dir not in engines:
            engines[index_dir] = Engine(index_dir)
        return engines[index_dir]


# Queries -----------------------------------------------------------------------------------


@dataclass
class _Node:
    kind: str  # "term", "phrase", "wildcard", "fuzzy", "and", "or", "not", "all"
    words: tuple[str, ...] = ()
    children: list[_Node] = field(default_factory=list)
    # Scored but not required: the exact form of a word also found under a broader one
    # ("carers" finds care, and listings that say carers come first).
    prefer: _Node | None = None
    synonyms: bool = False  # an "any of these" group made from a synonym phrase


_PARSER_SCHEMA = wfields.Schema(text=wfields.TEXT(analyzer=analyzer()))


def _parser() -> qparser.QueryParser:
    parser = qparser.QueryParser("text", _PARSER_SCHEMA, group=qparser.AndGroup)
    for plugin in (qparser.FieldsPlugin, qparser.RangePlugin, qparser.EveryPlugin, qparser.BoostPlugin):
        parser.remove_plugin_class(plugin)
    parser.add_plugin(qparser.FuzzyTermPlugin())
    return parser


_PARSER = _parser()
_PLAIN_ANALYZER = _base_analyzer()
_SYNTAX_RE = re.compile(r"[()\"*?~^:\[\]{}]|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b")


def _plain_words(text_: str) -> _Node:
    stems = [t.text for t in _PLAIN_ANALYZER(_SYNTAX_RE.sub(" ", text_), mode="query")]
    if not stems:
        return _Node("all")
    return _Node("and", children=_group_synonyms([_word(s) for s in stems]))


def _too_nested(text_: str) -> bool:
    depth = deepest = 0
    for ch in text_:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth = max(0, depth - 1)
    return deepest > MAX_NESTING or len(re.findall(r"\bNOT\b", text_)) > MAX_NESTING


def parse(text_: str) -> _Node:
    """The query as typed, as a tree of words. Whoosh's syntax works (AND, OR, NOT,
    brackets, "phrases", wild*cards, fuzzy~); anything it cannot make sense of is read as
    plain words."""
    text_ = text_.strip()
    if not text_:
        return _Node("all")
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
    return node if node is not None else _Node("all")


def _word(stem: str) -> _Node:
    lemma = LEMMAS.get(stem)
    if lemma is None:
        return _Node("term", (stem,))
    exact = _Node("term", (stem,))
    return _Node("or", children=[exact, _Node("term", (lemma,))], prefer=exact)


def _convert(q) -> _Node | None:
    if isinstance(q, wquery.Term):
        return _word(q.text)
    if isinstance(q, wquery.Phrase):
        words = tuple(w for w in q.words if w)
        if not words:
            return None
        return _Node("term", words) if len(words) == 1 else _Node("phrase", words)
    if isinstance(q, wquery.FuzzyTerm):
        return _Node("fuzzy", (q.text, str(max(1, min(2, int(q.maxdist)))), str(q.prefixlength)))
    if isinstance(q, (wquery.Prefix, wquery.Wildcard)):
        pattern = q.text if isinstance(q, wquery.Wildcard) else q.text + "*"
        if sum(ch.isalnum() for ch in pattern) < 2:
            return None
        return _Node("wildcard", (pattern.lower(),))
    if isinstance(q, wquery.Every):
        return _Node("all")
    if isinstance(q, wquery.Not):
        child = _convert(q.query)
        return _Node("not", children=[child]) if child is not None else None
    if isinstance(q, wquery.AndNot):
        positive, negative = _convert(q.a), _convert(q.b)
        if positive is None:
            return None
        return positive if negative is None else _Node("and", children=[positive, _Node("not", children=[negative])])
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
        return _Node(kind, children=children)
    if isinstance(q, wquery.CompoundQuery):  # other compound queries: their parts, all required
        children = [c for c in (_convert(sub) for sub in q.subqueries) if c is not None]
        return _Node("and", children=children) if children else None
    return None


def _word_of(node: _Node) -> str | None:
    """The stem of a plain one-word node (a word, or a word with its broader form)."""
    if node.kind == "term" and len(node.words) == 1:
        return node.words[0]
    if node.kind == "or" and not node.synonyms and node.prefer is not None and node.prefer.kind == "term":
        return node.prefer.words[0]
    return None


def _synonym_node(stems: tuple[str, ...], literal: _Node) -> _Node | None:
    concept = CONCEPT_PHRASES.get(tuple(_lemma(s) for s in stems))
    if concept is None:
        return None
    return _Node("or", children=[_Node("term", (concept,)), literal], prefer=literal, synonyms=True)


def _group_synonyms(children: list[_Node]) -> list[_Node]:
    """Runs of plain words that spell a synonym phrase become one "any of these" unit,
    which prefers the words as typed."""
    out: list[_Node] = []
    i = 0
    while i < len(children):
        node = children[i]
        if _word_of(node) is not None:
            for n in range(min(_LONGEST_PHRASE, len(children) - i), 0, -1):
                run = children[i : i + n]
                stems = tuple(_word_of(c) for c in run)
                if None in stems:
                    continue
                literal = run[0] if n == 1 else _Node("and", children=list(run))
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


def _root(node: _Node) -> _Node:
    """Apply synonym grouping to a lone word or phrase too."""
    if _word_of(node) is not None or node.kind == "phrase":
        return _group_synonyms([node])[0]
    return node


@dataclass
class _Evaluated:
    match: int
    fields: dict[str, int]


class _Evaluator:
    def __init__(self, snap: _Snapshot):
        self.snap = snap

    def run(self, node: _Node) -> _Evaluated:
        kind = node.kind
        snap = self.snap
        if kind == "all":
            return _Evaluated(snap.live, {})
        if kind == "term":
            if len(node.words) == 1:
                fields_ = {f: snap.term(f, node.words[0]) for f in TEXT_FIELDS}
            else:
                fields_ = {f: _and_all(snap.term(f, w) for w in node.words) for f in TEXT_FIELDS}
            return _Evaluated(_or(fields_.values()), fields_)
        if kind == "phrase":
            fields_ = {f: snap.phrase(f, node.words) for f in TEXT_FIELDS if f != "places"}
            return _Evaluated(_or(fields_.values()), fields_)
        if kind in ("wildcard", "fuzzy"):
            fields_ = {f: _or(snap.term(f, t) for t in self._expand(node, f)) for f in TEXT_FIELDS}
            return _Evaluated(_or(fields_.values()), fields_)
        if kind == "not":
            inner = self.run(node.children[0])
            return _Evaluated(snap.live & ~inner.match, {})
        parts = [self.run(child) for child in node.children]
        if kind == "and":
            match = _and_all(p.match for p in parts)
            fields_ = {f: _and_all(p.fields.get(f, p.match) for p in parts) & match for f in TEXT_FIELDS}
            return _Evaluated(match, fields_)
        match = _or(p.match for p in parts)
        fields_ = {f: _or(p.fields.get(f, 0) for p in parts) for f in TEXT_FIELDS}
        return _Evaluated(match, fields_)

    def _expand(self, node: _Node, fieldname: str) -> list[str]:
        words = self.snap.lexicon(fieldname)
        if node.kind == "wildcard":
            regex = re.compile(re.escape(node.words[0]).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")
            return [w for w in words if regex.match(w)][:MAX_EXPANSIONS]
        word, maxdist, prefix = node.words[0], int(node.words[1]), int(node.words[2])
        corrector = ListCorrector(words)
        return corrector.suggest(word, limit=MAX_EXPANSIONS, maxdist=maxdist, prefix=prefix) + ([word] if word in words else [])


def _and_all(values: Iterable[int]) -> int:
    result = -1
    for v in values:
        result &= v
        if not result:
            return 0
    return result if result != -1 else 0


def _scoring_units(node: _Node) -> list[_Node]:
    units = [u for u in (node.children if node.kind == "and" else [node]) if u.kind not in ("not", "all")]
    units = units[:MAX_SCORED_UNITS]
    return units + [u.prefer for u in units if u.prefer is not None]


def _relevance_bands(snap: _Snapshot, evaluator: _Evaluator, node: _Node, match: int) -> list[int]:
    """The matching documents split into bands by relevance, best band first."""
    units = _scoring_units(node)
    if not units or not match:
        return [match] if match else []
    total_docs = max(1, snap.count)
    weighted = []
    for unit in units:
        result = evaluator.run(unit)
        df = (result.match & match).bit_count()
        idf = math.log(1 + total_docs / (1 + df))
        weighted.append((idf, result))
    best_possible = sum(idf * max(FIELD_WEIGHTS.values()) for idf, _ in weighted) or 1.0
    # Histogram of scores, in hundredths of the best possible score, as bitsets.
    histogram: dict[int, int] = {0: match}
    for idf, result in weighted:
        tiers = []
        seen = 0
        for f in sorted(TEXT_FIELDS, key=lambda f: -FIELD_WEIGHTS[f]):
            bits = result.fields.get(f, 0) & match & ~seen
            if bits:
                tiers.append((round(100 * idf * FIELD_WEIGHTS[f] / best_possible), bits))
                seen |= bits
        rest = result.match & match & ~seen  # matched, but not within one field (a split AND)
        if rest:
            tiers.append((round(100 * idf * min(FIELD_WEIGHTS.values()) / best_possible), rest))
        next_histogram: dict[int, int] = {}
        for score, bits in histogram.items():
            remaining = bits
            for add, tier_bits in tiers:
                part = remaining & tier_bits
                if part:
                    next_histogram[min(100, score + add)] = next_histogram.get(min(100, score + add), 0) | part
                    remaining &= ~part
            if remaining:
                next_histogram[score] = next_histogram.get(score, 0) | remaining
        histogram = next_histogram
    bands = [0] * (RELEVANCE_BANDS + 1)
    for score, bits in histogram.items():
        band = math.ceil(score * RELEVANCE_BANDS / 100)
        bands[band] |= bits
    return [b for b in reversed(bands) if b]


# Results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultItem:
    service_id: int
    title: str
    provider_id: int
    provider_name: str
    category_slug: str
    category_name: str
    price_pence: int
    price_unit: PriceUnit
    min_units: int
    cqc_rating: CQCRating | None
    cqc_regulated: bool
    funding_routes: tuple[FundingRoute, ...]
    days: tuple[int, ...]
    distance_miles: float | None
    covers_your_area: bool  # served through its listed areas or own radius, beyond the distance asked
    rank: ranking.ServiceRank | None


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facets:
    category: list[FacetValue]
    funding: list[FacetValue]
    day: list[FacetValue]
    min_cqc_rating: list[FacetValue]
    framework_only: FacetValue

    def as_dict(self) -> dict:
        def values(items):
            return [{"value": v.value, "label": v.label, "count": v.count, "selected": v.selected} for v in items]

        return {
            "category": values(self.category),
            "funding": values(self.funding),
            "day": values(self.day),
            "min_cqc_rating": values(self.min_cqc_rating),
            "framework_only": values([self.framework_only])[0],
        }


@dataclass(frozen=True)
class Location:
    postcode: str
    district: str
    town: str


@dataclass
class SearchResults:
    params: SearchParams
    page: Page[ResultItem]
    facets: Facets
    did_you_mean: str | None
    location: Location | None

    @property
    def total(self) -> int:
        return self.page.total

    @property
    def items(self) -> Sequence[ResultItem]:
        return self.page.items


RATING_FACET_LABELS = {
    CQCRating.OUTSTANDING: "Outstanding",
    CQCRating.GOOD: "Good or better",
    CQCRating.REQUIRES_IMPROVEMENT: "Requires improvement or better",
    CQCRating.INADEQUATE: "Any CQC rating",
}
DAY_LABELS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class _Districts:
    """Postcode district centroids, held in memory per process (reference data) and read
    again at most once a minute."""

    def __init__(self):
        self.loaded_at = -math.inf
        self.rows: dict[str, tuple[float, float, str]] = {}
        self.version = 0  # goes up when the rows read differ: cached place bitsets follow it
        self.lock = threading.Lock()

    def get(self) -> dict[str, tuple[float, float, str]]:
        with self.lock:
            if time.monotonic() - self.loaded_at > 60:
                d = PostcodeDistrict.__table__
                rows = {
                    r.outward_code: (r.latitude, r.longitude, r.post_town)
                    for r in db.session.execute(select(d.c.outward_code, d.c.latitude, d.c.longitude, d.c.post_town))
                }
                if rows != self.rows:
                    self.rows = rows
                    self.version += 1
                self.loaded_at = time.monotonic()
            return self.rows


def _districts() -> _Districts:
    return current_app.extensions.setdefault("search_districts", _Districts())


def category_choices() -> list[tuple[str, str]]:
    """(slug, name) of every category, in taxonomy order."""
    return _category_names()


def _category_names() -> list[tuple[str, str]]:
    c = Category.__table__
    return [(r.slug, r.name) for r in db.session.execute(select(c.c.slug, c.c.name).order_by(c.c.position, c.c.name))]


def reference_errors(values: Mapping[str, object], *, categories: list[tuple[str, str]] | None = None) -> dict[str, str]:
    """The checks that need reference data: a category and a postcode district we know."""
    found: dict[str, str] = {}
    category = values.get("category")
    if category and category not in {slug for slug, _ in (categories or _category_names())}:
        found["category"] = CATEGORY_INVALID
    postcode = values.get("postcode")
    if postcode and str(postcode).split()[0] not in _districts().get():
        found["postcode"] = UNKNOWN_POSTCODE
    return found


def params_from_args(args, *, prices_in_pounds: bool = False, categories: list[tuple[str, str]] | None = None) -> SearchParams:
    """A search from a query string (the page's or the API's), every bad field named in one
    ValidationError: malformed values, a distance sort without a postcode, and unknown
    categories and postcode districts alike. ``categories``: category_choices(), if the
    caller has them already."""

    def check(values):
        return reference_errors(values, categories=categories)

    return search_params.params_from_args(args, prices_in_pounds=prices_in_pounds, check=check)


def search(params: SearchParams, *, index_dir: str | None = None, categories: list[tuple[str, str]] | None = None) -> SearchResults:
    """Run one search. Raises ValidationError for an unknown postcode district or
    category (both named at once), SearchUnavailable when there is no index to search.
    ``categories``: category_choices(), if the caller has them already."""
    categories = categories or _category_names()
    errors = reference_errors({"category": params.category, "postcode": params.postcode}, categories=categories)
    if errors:
        raise ValidationError(errors)
    location = None
    distances: dict[str, float] | None = None
    if params.postcode:
        outward = params.postcode.split()[0]
        districts = _districts().get()
        lat, lon, town = districts[outward]
        location = Location(params.postcode, outward, town)
        distances = {code: miles_between(lat, lon, dlat, dlon) for code, (dlat, dlon, _) in districts.items()}

    eng = engine(index_dir)
    eng.catch_up()
    snap = eng.snapshot()
    ranks = snap.ranking(_lot_settings())
    evaluator = _Evaluator(snap)
    node = _root(parse(params.q))
    text_match = evaluator.run(node).match & snap.live

    # Each filter as a bitset; facets count with every filter but their own.
    filters: dict[str, int] = {}
    if params.category:
        filters["category"] = snap.category(params.category)
    if location is not None:
        filters["near"] = snap.near(location.district, params.radius_miles, distances, _districts().version)
    if params.max_price_pence is not None:
        filters["price"] = snap.max_price(params.max_price_pence)
    if params.min_cqc_rating is not None:
        filters["rating"] = snap.rating_at_least(params.min_cqc_rating)
    if params.funding is not None:
        filters["funding"] = snap.funding(params.funding)
    if params.days:
        filters["day"] = _and_all(snap.day(d) for d in params.days)
    if params.framework_only:
        filters["framework"] = ranks.framework()

    def without(name: str | None) -> int:
        bits = text_match
        for key, value in filters.items():
            if key != name:
                bits &= value
                if not bits:
                    break
        return bits

    matched = without(None)
    total = matched.bit_count()

    facets = _facets(snap, ranks, params, categories, without, matched)
    did_you_mean = _did_you_mean(snap, evaluator, params.q, total) if params.q else None

    per_page = PER_PAGE
    skip = (params.page - 1) * per_page
    docnums = _page_of(snap, ranks, evaluator, node, matched, params, distances, skip, per_page)
    names = dict(categories)
    items = [_item(snap, ranks, n, params, location, distances, names) for n in docnums]
    return SearchResults(
        params=params,
        page=Page(items=items, total=total, page=params.page, per_page=per_page),
        facets=facets,
        did_you_mean=did_you_mean,
        location=location,
    )


def _lot_settings() -> dict[int, ranking.LotInfo]:
    """Each framework lot's name and weights, as they are now (a handful of rows)."""
    lot = FrameworkLot.__table__
    rows = db.session.execute(select(lot.c.id, lot.c.name, lot.c.quality_weight, lot.c.price_weight))
    return {r.id: ranking.LotInfo(r.id, r.name, r.quality_weight, r.price_weight) for r in rows}


def listed_service_rank(service_id: int, *, index_dir: str | None = None) -> ranking.ServiceRank | None:
    """A listed service's framework rank for its public page, from this process's
    in-memory index (the lot's scores are kept there: nothing loads every member of the
    lot). Without a readable index, the ranking service works it out from the database."""
    try:
        snap = engine(index_dir).snapshot()
    except SearchUnavailable:
        return ranking.service_rank(service_id)
    n = snap.searcher.document_number(sid=str(service_id))
    if n is None:
        return None
    return snap.ranking(_lot_settings()).rank(n)


def _facets(snap: _Snapshot, ranks: _Ranking, params: SearchParams, categories, without, matched: int) -> Facets:
    base = without("category")
    category = [
        FacetValue(slug, name, (base & snap.category(slug)).bit_count() if base else 0, slug == params.category)
        for slug, name in categories
    ]
    base = without("funding")
    funding = [FacetValue(r.value, r.label, (base & snap.funding(r)).bit_count() if base else 0, r is params.funding) for r in FundingRoute]
    day = [
        FacetValue(DAY_LABELS[d].lower(), DAY_LABELS[d], (matched & snap.day(d)).bit_count() if matched else 0, d in params.days)
        for d in range(7)
    ]
    base = without("rating")
    rating = [
        FacetValue(r.value, RATING_FACET_LABELS[r], (base & snap.rating_at_least(r)).bit_count() if base else 0, r is params.min_cqc_rating)
        for r in (CQCRating.OUTSTANDING, CQCRating.GOOD, CQCRating.REQUIRES_IMPROVEMENT, CQCRating.INADEQUATE)
    ]
    base = without("framework")
    framework = FacetValue(
        "true", "Council framework providers only", (base & ranks.framework()).bit_count() if base else 0, params.framework_only
    )
    return Facets(category, funding, day, rating, framework)


# A set at least this fraction of all documents is taken by walking an order from the
# start; a smaller one is sorted.
DENSE = 16


def _page_of(
    snap: _Snapshot,
    ranks: _Ranking,
    evaluator: _Evaluator,
    node: _Node,
    matched: int,
    params: SearchParams,
    distances,
    skip: int,
    limit: int,
) -> list[int]:
    if not matched or skip >= matched.bit_count():
        return []
    if params.sort is Sort.PRICE:
        return _by_price(snap, ranks, matched, skip, limit)
    if params.sort is Sort.RATING:
        # Outstanding first, then Good, Requires improvement, Inadequate, then not rated;
        # best-match order within each.
        return _in_bands(snap, ranks, [matched & snap.rating_exactly(code) for code in (4, 3, 2, 1, 0)], skip, limit)
    if params.sort is Sort.DISTANCE and distances is not None:
        attrs = snap.attrs

        def distance(n: int) -> float:
            return round(distances.get(attrs[n][A_BASE], math.inf), 1)

        return _two_level(bitsets.positions(matched), distance, ranks.key, skip, limit)
    # Best match: bands of relevance, each in framework-then-quality order.
    return _in_bands(snap, ranks, _relevance_bands(snap, evaluator, node, matched), skip, limit)


def _in_bands(snap: _Snapshot, ranks: _Ranking, bands: Iterable[int], skip: int, limit: int) -> list[int]:
    """From bands taken one after the other, each in best-match order."""
    out: list[int] = []
    for band in bands:
        count = band.bit_count()
        if skip >= count:
            skip -= count
            continue
        out.extend(_best_first(snap, ranks, band, skip, limit - len(out)))
        skip = 0
        if len(out) >= limit:
            break
    return out


def _best_first(snap: _Snapshot, ranks: _Ranking, bits: int, skip: int, limit: int) -> list[int]:
    count = bits.bit_count()
    if skip >= count or limit <= 0:
        return []
    if count * DENSE >= snap.size:
        return bitsets.take_in_order(ranks.walk(), bits, skip, limit)
    members = bitsets.positions(bits)
    if skip + limit < len(members) // 4:
        return heapq.nsmallest(skip + limit, members, key=ranks.key)[skip:]
    members.sort(key=ranks.key)
    return members[skip : skip + limit]


def _by_price(snap: _Snapshot, ranks: _Ranking, bits: int, skip: int, limit: int) -> list[int]:
    """Cheapest first; the same price in best-match order."""
    count = bits.bit_count()
    if count * DENSE < snap.size:
        prices = snap.prices
        return _two_level(bitsets.positions(bits), prices.__getitem__, ranks.key, skip, limit)
    contains = bitsets.member_test(bits)
    out: list[int] = []
    need = skip + limit
    for _, group in itertools.groupby(snap.by_price(), key=lambda pn: pn[0]):
        found = [n for _, n in group if contains(n)]
        if found:
            found.sort(key=ranks.key)
            out.extend(found)
            if len(out) >= need:
                break
    return out[skip:need]


def _two_level(
    members: list[int], primary: Callable[[int], object], secondary: Callable[[int], object], skip: int, limit: int
) -> list[int]:
    """``members`` ordered by ``primary`` then ``secondary``, from ``skip`` for ``limit``;
    ``secondary`` (the dearer key) is only worked out for those that can make the page."""
    need = skip + limit
    firsts = [primary(n) for n in members]
    if len(members) > need:
        cut = heapq.nsmallest(need, firsts)[-1]
        candidates = [(f, n) for f, n in zip(firsts, members) if f <= cut]
    else:
        candidates = list(zip(firsts, members))
    candidates.sort(key=lambda fn: (fn[0], secondary(fn[1])))
    return [n for _, n in candidates[skip:need]]


def _item(
    snap: _Snapshot, ranks: _Ranking, n: int, params: SearchParams, location: Location | None, distances, category_names: Mapping[str, str]
) -> ResultItem:
    a = snap.attrs[n]
    distance = None
    covers = False
    if location is not None and distances is not None and a[A_BASE]:
        distance = distances.get(a[A_BASE])
        covers = distance is None or distance > params.radius_miles
    slug = a[A_CATEGORY]
    return ResultItem(
        service_id=a[A_ID],
        title=a[A_TITLE],
        provider_id=a[A_PROVIDER_ID],
        provider_name=a[A_PROVIDER],
        category_slug=slug,
        category_name=category_names.get(slug, slug),
        price_pence=a[A_PRICE],
        price_unit=PriceUnit(a[A_UNIT]),
        min_units=a[A_MIN_UNITS],
        cqc_rating=_rating(a[A_RATINGS][0]),
        cqc_regulated=a[A_REGULATED],
        funding_routes=tuple(r for r in FundingRoute if a[A_FUNDING] & FUNDING_BITS[r]),
        days=tuple(d for d in range(7) if a[A_DAYS] >> d & 1),
        distance_miles=round(distance, 1) if distance is not None else None,
        covers_your_area=covers,
        rank=ranks.rank(n),
    )


# "Did you mean" ----------------------------------------------------------------------------

_WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_OPERATORS = {"AND", "OR", "NOT", "ANDNOT", "ANDMAYBE"}


def _did_you_mean(snap: _Snapshot, evaluator: _Evaluator, typed: str, total: int) -> str | None:
    """A corrected query when some typed words are not in any listing and a close word
    is, and the corrected query finds something."""
    replacements: dict[str, str] = {}
    for match in _WORD_RE.finditer(typed):
        word = match.group(0)
        before, after = typed[max(0, match.start() - 1) : match.start()], typed[match.end() : match.end() + 1]
        if word in _OPERATORS or len(word) < 3 or word.lower() in replacements or "*" in (before + after) or after in ("~", "?"):
            continue
        stems = [t.text for t in _PLAIN_ANALYZER(word, mode="query")]
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
    node = _root(parse(corrected))
    if not (evaluator.run(node).match & snap.live):
        return None
    return corrected


def _suggest(snap: _Snapshot, word: str) -> str | None:
    candidates: dict[str, tuple[int, int]] = {}
    for fieldname in ("title", "category", "description"):
        try:
            corrector = snap.searcher.corrector(fieldname)
            for distance in (1, 2):
                for suggestion in corrector.suggest(word, limit=3, maxdist=distance, prefix=1):
                    if suggestion.startswith(CONCEPT_PREFIX) or suggestion == word:
                        continue
                    stems = [t.text for t in _PLAIN_ANALYZER(suggestion, mode="query")]
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
