"""Writing the index, one process at a time.

Writers of data never touch the index: their changes are queued in the ``search_outbox``
table in the same transaction (outbox.py). ``drain()`` holds an exclusive ``flock`` on
``drain.lock`` in the index folder (released by the kernel if the process dies), rewrites
the affected documents and then deletes exactly the outbox rows it took in. A worker that
dies mid-way leaves its rows queued; a drain that cannot get the lock leaves them for the
process holding it, which looks again after letting go. Nobody ever waits on Whoosh's own
lock, so no ``LockError`` reaches a person.

``rebuild()`` (``flask search rebuild``) writes every document into one new segment and
swaps it in atomically (Whoosh's CLEAR merge): searches carry on against the old
generation until the new one is committed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from whoosh.index import LockError
from whoosh.writing import CLEAR

from app.database import sqlite_begin_mode
from app.extensions import db
from app.services.search.documents import Reference, listed_count_on, listed_documents, services_to_rewrite
from app.services.search.pending import delete_outbox_rows, outbox_table, pending_changes
from app.services.search.storage import (
    SearchUnavailable,
    create_index,
    index_dir_from_config,
    index_exists,
    index_lock,
    open_index,
    remove_other_indexes,
)

log = logging.getLogger(__package__)  # one logger for the whole package

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
            ix = open_index(index_dir)
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
    table = outbox_table()
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        rows = conn.execute(select(table.c.id, table.c.entity, table.c.entity_id).order_by(table.c.id).limit(DRAIN_BATCH)).all()
        if not rows:
            return None
        entries = {(r.entity.value if hasattr(r.entity, "value") else r.entity, r.entity_id) for r in rows}
        service_ids = services_to_rewrite(conn, entries)
        if max_documents is not None and len(service_ids) > max_documents:
            conn.rollback()
            return "deferred"
        ref = Reference.load(conn)
        documents = dict(listed_documents(conn, sorted(service_ids), ref))
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
    delete_outbox_rows([r.id for r in rows])
    return len(rows), len(documents)


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
        drain_from_request(index_dir)
    except (LockError, OSError, SQLAlchemyError, Exception):
        log.exception("Search index drain failed; the changes stay queued")
    finally:
        _drain_guard.active = False


def drain_from_request(index_dir: str) -> DrainReport:
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
        table = outbox_table()
        with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
            # The queued changes already committed are in what we are about to read.
            covered = list(conn.execute(select(table.c.id)).scalars())
            total = listed_count_on(conn)
            ref = Reference.load(conn)
            ix = open_index(index_dir) if index_exists(index_dir) else create_index(index_dir)
            procs = BUILD_PROCESSES if total >= PARALLEL_BUILD_FROM else 1
            writer = ix.writer(limitmb=BUILD_MEMORY_MB, timeout=30.0, procs=procs, multisegment=procs > 1, compound=COMPOUND_SEGMENTS)
            count = 0
            try:
                for _, doc in listed_documents(conn, None, ref):
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
        delete_outbox_rows(covered)
        remove_other_indexes(index_dir)
    drain(index_dir, wait=5.0)
    with db.engine.connect() as conn:
        pending = pending_changes(conn)[0]
    return RebuildReport(documents=count, seconds=time.monotonic() - started, pending_after=pending)
