"""The search side of one process: for each index folder, an ``Engine`` that holds the
open index and the snapshot of its current generation, refreshed when a writer commits a
new one (keeping the segments it already read), and that takes in changes its index has
not read yet.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

from flask import current_app

from app.services.search.pending import needs_reading
from app.services.search.segment import Segment
from app.services.search.snapshot import Snapshot
from app.services.search.storage import SearchUnavailable, index_exists, open_index
from app.services.search.writer import drain_from_request

log = logging.getLogger(__package__)  # one logger for the whole package

PENDING_CHECK_SECONDS = 0.5


class Engine:
    """The search side of one process: the open index and the current snapshot."""

    def __init__(self, index_dir: str):
        self.index_dir = index_dir
        self._lock = threading.RLock()
        self._ix = None
        self._searcher = None
        self._snapshot: Snapshot | None = None
        self._segments: dict[str, Segment] = {}
        self._next_pending_check = 0.0

    def snapshot(self) -> Snapshot:
        with self._lock:
            if not index_exists(self.index_dir):
                self._close()
                raise SearchUnavailable("The search index has not been built: run `flask search rebuild`.")
            try:
                if self._ix is None:
                    self._ix = open_index(self.index_dir)
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
        keep: dict[str, Segment] = {}
        for leaf, leaf_offset in reader.leaf_readers():
            if leaf.segment() is None:  # an index with no documents at all
                continue
            segid = leaf.segment().segment_id()
            seg = self._segments.get(segid) or Segment(leaf)
            keep[segid] = seg
            leaves.append((seg, leaf_offset, leaf))
        self._segments = keep
        self._snapshot = Snapshot(generation, self._searcher, leaves)

    def _close(self) -> None:
        if self._searcher is not None:
            with contextlib.suppress(Exception):  # closing a broken reader
                self._searcher.close()
        self._ix = self._searcher = self._snapshot = None
        self._segments = {}

    def catch_up(self) -> None:
        """At most twice a second, take in changes this index has not read (made on another
        host, or left by a writer whose drain failed): one query of two index probes."""
        now = time.monotonic()
        if now < self._next_pending_check:
            return
        self._next_pending_check = now + PENDING_CHECK_SECONDS
        try:
            if needs_reading(self.index_dir):
                drain_from_request(self.index_dir)
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
