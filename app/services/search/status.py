"""The index's health, for /health and `flask search status`: is it there, readable, and
up to date with the data? How far behind the log this host's index is, and every live
reader of the log (each host's index) with how far behind it is.
"""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy.exc import SQLAlchemyError

from app.database import sqlite_begin_mode
from app.extensions import db
from app.services.search.cursor import read_state
from app.services.search.documents import listed_count_on
from app.services.search.pending import unread_changes
from app.services.search.readers import Reader, host_name, live_readers
from app.services.search.storage import index_exists, open_index, toc_path

STALE_AFTER_SECONDS = 60


def index_status(index_dir: str) -> dict:
    """For /health: is the index there, readable, and up to date with the data?"""
    if not index_exists(index_dir):
        return {"ok": False, "state": "missing", "detail": "Run `flask search rebuild` to build it."}
    try:
        ix = open_index(index_dir)
        with ix.searcher() as searcher:
            documents = searcher.doc_count()
        built_at = os.path.getmtime(toc_path(index_dir, ix.latest_generation()))
    except Exception as exc:  # a corrupt or unreadable index must show as such, not crash /health
        return {"ok": False, "state": "unreadable", "detail": exc.__class__.__name__}
    report = {"ok": True, "state": "ready", "documents": documents, "last_written_at": _iso(built_at)}
    state = read_state(index_dir)
    report["host"] = host_name(index_dir)
    report["index_id"] = state.index_id if state else None
    try:
        # On a connection of its own: the caller's session may hold an older snapshot.
        with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
            pending, oldest = unread_changes(conn, state.cursor) if state else (0, None)
            listed = listed_count_on(conn)
            live = live_readers(conn)
            report["readers"] = [_reader_report(conn, r) for r in live]
    except SQLAlchemyError:
        return report
    report["listed_services"] = listed
    report["pending_changes"] = pending
    report["oldest_change_age_seconds"] = round(oldest, 1) if oldest is not None else None
    if state is None or state.index_id not in {r.index_id for r in live}:
        report.update(
            ok=False,
            state="unregistered",
            detail="This index is not a live reader of the changes (built before, or unseen for a week): it is being rebuilt.",
        )
    elif pending:
        report["state"] = "behind"
        if oldest > STALE_AFTER_SECONDS:
            report.update(ok=False, detail="Changes are waiting for the index: run `flask search drain`.")
    elif documents != listed:
        report.update(
            ok=False,
            state="out_of_step",
            detail=f"The index has {documents} services but {listed} are listed: run `flask search rebuild`.",
        )
    return report


def _reader_report(conn, reader: Reader) -> dict:
    pending, oldest = unread_changes(conn, reader.cursor)
    return {
        "host": reader.host,
        "index_id": reader.index_id,
        "last_read_at": reader.last_read_at.isoformat(timespec="seconds"),
        "pending_changes": pending,
        "oldest_change_age_seconds": round(oldest, 1) if oldest is not None else None,
    }


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")
