"""The indexes that read the log (``search_index_readers``): one row per index folder, on
whichever host, saying how far it has read. The log is pruned only below every live
reader; a reader not seen for a week is dropped (so a host that went away cannot hold the
log for ever), and its index rebuilds when it comes back.

A rebuild registers its reader (committed) before taking the snapshot it reads the data
under, and pruning is one DELETE whose subquery reads the readers: so a prune either sees
the new reader, or ran before it registered and deleted only rows the rebuild's data
already includes.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from app.database import sqlite_begin_mode, utcnow
from app.extensions import db
from app.models import SearchIndexReader, SearchOutboxEntry
from app.services.search.cursor import Cursor, current_cursor, kind_of

SILENT_FOR = dt.timedelta(days=7)
# An index with nothing new to read still says it is alive this often.
HEARTBEAT = dt.timedelta(minutes=5)

BIGGEST = 2**63 - 1


def host_name(index_dir: str) -> str:
    return f"{socket.gethostname()}:{os.path.abspath(index_dir)}"[:300]


@dataclass(frozen=True)
class Reader:
    index_id: str
    host: str
    cursor: Cursor
    last_read_at: dt.datetime


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)  # SQLite through Core


def reader_row(conn: Connection, index_id: str) -> Reader | None:
    table = SearchIndexReader.__table__
    row = conn.execute(select(table).where(table.c.index_id == index_id)).first()
    return _reader(row) if row is not None else None


def _reader(row) -> Reader:
    return Reader(row.index_id, row.host, Cursor.from_text(row.cursor), _aware(row.last_read_at))


def live_readers(conn: Connection) -> list[Reader]:
    table = SearchIndexReader.__table__
    return [_reader(r) for r in conn.execute(select(table).order_by(table.c.host, table.c.index_id))]


def register(index_id: str, host: str) -> Cursor:
    """Add a reader that has read everything committed now (a rebuild about to read the
    data), committed before the caller takes its own snapshot."""
    with sqlite_begin_mode("IMMEDIATE"), db.engine.begin() as conn:
        cursor = current_cursor(conn)
        now = utcnow()
        conn.execute(
            SearchIndexReader.__table__.insert().values(
                index_id=index_id, host=host, position=cursor.position, cursor=cursor.as_text(), last_read_at=now, created_at=now
            )
        )
    return cursor


def advance(index_id: str, cursor: Cursor) -> bool:
    """Record how far the reader has read (never backwards). False if it was dropped."""
    table = SearchIndexReader.__table__
    with sqlite_begin_mode("IMMEDIATE"), db.engine.begin() as conn:
        done = conn.execute(
            update(table)
            .where(table.c.index_id == index_id)
            .values(
                position=func.greatest(table.c.position, cursor.position)
                if kind_of(conn) == "xact"
                else func.max(table.c.position, cursor.position),
                cursor=cursor.as_text(),
                last_read_at=utcnow(),
            )
        )
        return done.rowcount == 1


def forget(index_id: str) -> None:
    table = SearchIndexReader.__table__
    with sqlite_begin_mode("IMMEDIATE"), db.engine.begin() as conn:
        conn.execute(delete(table).where(table.c.index_id == index_id))


def prune(now: dt.datetime | None = None) -> int:
    """Drop readers silent for a week, then delete the log every remaining reader has
    read (all of it when there are none: a new reader starts with a rebuild, and a
    reader registered meanwhile reads the data after this statement's snapshot)."""
    readers, log = SearchIndexReader.__table__, SearchOutboxEntry.__table__
    with sqlite_begin_mode("IMMEDIATE"), db.engine.begin() as conn:
        conn.execute(delete(readers).where(readers.c.last_read_at < (now or utcnow()) - SILENT_FOR))
        lowest = func.coalesce(select(func.min(readers.c.position)).scalar_subquery(), BIGGEST)
        # SQLite keeps the row at the lowest position: it hands out max(id) + 1 as the next
        # id, so deleting the newest rows would give their ids again, below a cursor.
        below = log.c.xact < lowest if kind_of(conn) == "xact" else log.c.id < lowest
        return conn.execute(delete(log).where(below)).rowcount
