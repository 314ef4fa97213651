"""The queue of changes waiting for the index (the ``search_outbox`` table) as its readers
see it: how many wait and for how long, and removing the rows a drain took in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from app.database import sqlite_begin_mode, utcnow
from app.extensions import db
from app.models import SearchOutboxEntry
from app.services.search.documents import chunks


def outbox_table():
    return SearchOutboxEntry.__table__


def pending_changes(conn: Connection | None = None) -> tuple[int, float | None]:
    """How many changes wait for the index, and the age in seconds of the oldest."""
    table = outbox_table()
    executor = conn if conn is not None else db.session
    count, oldest = executor.execute(select(func.count(), func.min(table.c.queued_at))).one()
    if not count:
        return 0, None
    if oldest.tzinfo is None:  # SQLite hands back naive UTC through Core
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(count), max(0.0, (utcnow() - oldest).total_seconds())


def delete_outbox_rows(ids: Sequence[int]) -> None:
    table = outbox_table()
    with sqlite_begin_mode("IMMEDIATE"), db.engine.begin() as conn:
        for chunk in chunks(list(ids)):
            conn.execute(table.delete().where(table.c.id.in_(chunk)))
