"""Writing the index, one process at a time per index folder.

Writers of data never touch the index: their changes are appended to the ``search_outbox``
log in the same transaction (outbox.py). Every index folder (one per host) reads the log
for itself from its own cursor (cursor.py) and is a registered reader of it (readers.py).
``drain()`` holds an exclusive ``flock`` on ``drain.lock`` in the folder (released by the
kernel if the process dies), reads what the folder has not read, rewrites the affected
documents, then records the new cursor in the folder and in the reader's row, and prunes
what every live reader has read. A drain that cannot get the lock leaves the changes for
the process holding it, which looks again after letting go. Nobody ever waits on Whoosh's
own lock, so no ``LockError`` reaches a person.

An index that is not a registered reader (built before readers existed, or dropped after
a week unseen, so the log it needs may be gone) is rebuilt in a background thread, while
searches carry on against what it holds.

``rebuild()`` (``flask search rebuild``) registers a new reader, writes every document
into one new segment and swaps it in atomically (Whoosh's CLEAR merge): searches carry on
against the old generation until the new one is committed.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy.exc import SQLAlchemyError
from whoosh.index import LockError
from whoosh.writing import CLEAR

from app.database import sqlite_begin_mode, utcnow
from app.extensions import db
from app.services.search import readers
from app.services.search.cursor import ReaderState, current_cursor, read_state, write_state
from app.services.search.documents import Reference, listed_count_on, listed_documents, services_to_rewrite
from app.services.search.pending import probe, unread_changes, unread_entries
from app.services.search.storage import (
    SearchUnavailable,
    create_index,
    index_dir_from_config,
    index_exists,
    index_lock,
    open_index,
    remove_other_indexes,
)
from app.services.search.threads import OneEach

log = logging.getLogger(__package__)  # one logger for the whole package

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
    # batch was larger than the caller wanted to wait for: left unread); "unregistered" (the
    # index is not a live reader of the log: it needs a rebuild)
    state: str
    entries: int = 0
    documents: int = 0
    batches: int = 0


def drain(index_dir: str | None = None, *, wait: float = 0.0, max_documents: int | None = None) -> DrainReport:
    """Take every change this index has not read into it, one writer at a time.

    Returns "busy" without waiting (unless ``wait``) when another process is draining: that
    process looks at the log again after releasing the lock, so nothing is stranded.
    With ``max_documents``, changes that would rewrite more documents than that are left
    unread ("deferred"), for a drain that can take its time."""
    index_dir = index_dir or index_dir_from_config()
    total = DrainReport("done")
    while True:
        if not index_exists(index_dir):
            return DrainReport("missing")
        with index_lock(index_dir, wait=wait) as acquired:
            if not acquired:
                total.state = "busy" if total.batches == 0 else total.state
                return total
            state = read_state(index_dir)
            done = _drain_once(index_dir, state, max_documents) if state is not None else "unregistered"
            if isinstance(done, str):
                total.state = done
                return total
            if done[0]:
                total.entries += done[0]
                total.documents += done[1]
                total.batches += 1
            state = read_state(index_dir)
        # Changes committed while we held the lock, by processes that found it taken, are
        # ours to take: look again now that it is free.
        with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
            if not probe(conn, state.index_id, state.cursor)[0]:
                return total


def _drain_once(index_dir: str, state: ReaderState, max_documents: int | None):
    """Read and apply what the folder has not read. Returns (entries, documents), or the
    state to report ("deferred", "unregistered")."""
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        reader = readers.reader_row(conn, state.index_id)
        if reader is None:
            return "unregistered"
        cursor = current_cursor(conn)  # before the rows: what commits in between is read again
        rows = unread_entries(conn, state.cursor, cursor)
        if not rows:
            conn.rollback()
            if utcnow() - reader.last_read_at < readers.HEARTBEAT:
                return 0, 0
        entries = {(r.entity.value if hasattr(r.entity, "value") else r.entity, r.entity_id) for r in rows}
        service_ids = services_to_rewrite(conn, entries) if rows else set()
        if max_documents is not None and len(service_ids) > max_documents:
            conn.rollback()
            return "deferred"
        documents = dict(listed_documents(conn, sorted(service_ids), Reference.load(conn))) if service_ids else {}
        conn.rollback()
    if service_ids:
        _write(open_index(index_dir), service_ids, documents)
    write_state(index_dir, ReaderState(state.index_id, cursor))
    if not readers.advance(state.index_id, cursor):
        return "unregistered"
    if rows:
        readers.prune()
    return len(rows), len(documents)


def _write(ix, service_ids, documents: dict) -> None:
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


_drain_guard = threading.local()
# A request (a commit's own drain, a search catching up) takes in at most this many
# documents itself; more (a category renamed, a district's town changed) is taken in by a
# background thread of the same process, so nobody waits seconds for a page.
REQUEST_DRAIN_DOCUMENTS = 500
_drains = OneEach("search-drain")


def drain_soon() -> None:
    """Called after a commit that queued changes: take them in now if nobody else is.
    Never raises: a failure leaves the changes unread for the next drain."""
    if not has_app_context() or getattr(_drain_guard, "active", False):
        return
    index_dir = current_app.config.get("SEARCH_INDEX_DIR")
    if not index_dir or not index_exists(index_dir):
        return
    _drain_guard.active = True
    try:
        drain_from_request(index_dir)
    except (LockError, OSError, SQLAlchemyError, Exception):
        log.exception("Search index drain failed; the changes stay unread")
    finally:
        _drain_guard.active = False


def drain_from_request(index_dir: str) -> DrainReport:
    report = drain(index_dir, max_documents=REQUEST_DRAIN_DOCUMENTS)
    if report.state in ("deferred", "unregistered"):
        drain_in_background(index_dir)
    return report


def drain_in_background(index_dir: str) -> threading.Thread:
    """Drain (or rebuild an unregistered index) in a thread of this process, one at a time
    per index. If the process dies, the changes are still unread: any later drain takes them."""
    return _drains.start(index_dir, _background_drain, current_app._get_current_object(), index_dir)


def _background_drain(app, index_dir: str) -> None:
    with app.app_context():
        try:
            catch_up_or_rebuild(index_dir, wait=120.0)
        except Exception:
            log.exception("Background search index drain failed; the changes stay unread")
        finally:
            db.session.remove()


def catch_up_or_rebuild(index_dir: str, *, wait: float = 0.0) -> DrainReport:
    """Drain; an index that is not a live reader is rebuilt (in this process alone, and only
    if it still needs it once the lock is ours)."""
    report = drain(index_dir, wait=wait)
    if report.state == "unregistered":
        log.warning("Search index %s is not a live reader of the log: rebuilding it", index_dir)
        rebuild(index_dir, wait=wait, processes=1, only_if_unregistered=True)
    return report


def background_drain(index_dir: str | None = None) -> threading.Thread | None:
    """The background drain thread of this process for the index, if one was started."""
    return _drains.get(index_dir or index_dir_from_config())


@dataclass
class RebuildReport:
    documents: int
    seconds: float
    pending_after: int


def rebuild(
    index_dir: str | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    wait: float = 300.0,
    processes: int | None = None,
    only_if_unregistered: bool = False,
) -> RebuildReport:
    """Write every listed service into a fresh index generation, atomically replacing
    what was there, as a newly registered reader of the log. Safe to re-run; readers carry
    on with the old generation meanwhile."""
    index_dir = index_dir or index_dir_from_config()
    started = time.monotonic()
    os.makedirs(index_dir, exist_ok=True)
    with index_lock(index_dir, wait=wait) as acquired:
        if not acquired:
            raise SearchUnavailable("Another process is writing the search index: try again when it has finished.")
        old = read_state(index_dir)
        if only_if_unregistered and old is not None and index_exists(index_dir) and _is_live(old.index_id):
            return RebuildReport(documents=0, seconds=time.monotonic() - started, pending_after=0)
        index_id = str(uuid.uuid4())
        state = ReaderState(index_id, readers.register(index_id, readers.host_name(index_dir)))
        try:
            state, count = _build(index_dir, state, progress, processes)
        except BaseException:
            readers.forget(state.index_id)
            raise
        readers.advance(state.index_id, state.cursor)
        if old is not None and old.index_id != state.index_id:
            readers.forget(old.index_id)
        readers.prune()
        remove_other_indexes(index_dir)
    drain(index_dir, wait=5.0)
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        pending = unread_changes(conn, read_state(index_dir).cursor)[0]
    return RebuildReport(documents=count, seconds=time.monotonic() - started, pending_after=pending)


def _is_live(index_id: str) -> bool:
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        return readers.reader_row(conn, index_id) is not None


def _build(index_dir: str, state: ReaderState, progress, processes: int | None) -> tuple[ReaderState, int]:
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        # Taken after the reader was registered, before reading: whatever commits from
        # here on is read by the next drain (again, if the build saw it too).
        cursor = current_cursor(conn)
        total = listed_count_on(conn)
        ref = Reference.load(conn)
        ix = open_index(index_dir) if index_exists(index_dir) else create_index(index_dir)
        procs = processes or (BUILD_PROCESSES if total >= PARALLEL_BUILD_FROM else 1)
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
    state = ReaderState(state.index_id, cursor)
    write_state(index_dir, state)
    return state, count
