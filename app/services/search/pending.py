"""The log of changes (the ``search_outbox`` table) as one reader sees it: the rows it
has not read, how many and how old, and whether it has anything to read at all (the cheap
question every search and the follower ask).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import exists, func, select
from sqlalchemy.engine import Connection

from app.database import sqlite_begin_mode, utcnow
from app.extensions import db
from app.models import SearchIndexReader, SearchOutboxEntry
from app.services.search.cursor import Cursor, read_state


def outbox_table():
    return SearchOutboxEntry.__table__


def unread_changes(conn: Connection, cursor: Cursor) -> tuple[int, float | None]:
    """How many changes the reader has not read, and the age in seconds of the oldest."""
    table = outbox_table()
    count, oldest = conn.execute(select(func.count(), func.min(table.c.queued_at)).where(cursor.unread())).one()
    if not count:
        return 0, None
    if oldest.tzinfo is None:  # SQLite hands back naive UTC through Core
        oldest = oldest.replace(tzinfo=dt.UTC)
    return int(count), max(0.0, (utcnow() - oldest).total_seconds())


def unread_entries(conn: Connection, cursor: Cursor, upto: Cursor) -> list:
    """The rows the reader has not read (on SQLite, up to the id ``upto`` was taken at)."""
    table = outbox_table()
    query = select(table.c.id, table.c.entity, table.c.entity_id).where(cursor.unread()).order_by(table.c.id)
    if upto.kind == "id":
        query = query.where(table.c.id <= upto.last_id)
    return conn.execute(query).all()


def probe(conn: Connection, index_id: str, cursor: Cursor) -> tuple[bool, bool]:
    """(anything unread, the reader still registered): one round trip of two index probes."""
    readers = SearchIndexReader.__table__
    unread = exists().where(cursor.unread())
    live = exists().where(readers.c.index_id == index_id)
    row = conn.execute(select(unread.label("unread"), live.label("live"))).one()
    return bool(row.unread), bool(row.live)


def needs_reading(index_dir: str) -> bool:
    """Whether the index in ``index_dir`` has changes to read, or is not a live reader."""
    state = read_state(index_dir)
    if state is None:
        return True
    with sqlite_begin_mode("DEFERRED"), db.engine.connect() as conn:
        unread, live = probe(conn, state.index_id, state.cursor)
    return unread or not live
