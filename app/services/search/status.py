"""The index's health, for /health and `flask search status`: is it there, readable, and
up to date with the data?
"""

from __future__ import annotations

import datetime as dt
import os

from sqlalchemy.exc import SQLAlchemyError

from app.database import sqlite_begin_mode
from app.extensions import db
from app.services.search.documents import listed_count_on
from app.services.search.pending import pending_changes
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
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")
