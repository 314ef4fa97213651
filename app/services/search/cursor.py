"""How far one index has read the log of changes (``search_outbox``), and the identity of
the index folder that holds it.

On PostgreSQL, ids from a sequence become visible out of order (a transaction takes id 5,
another takes id 6 and commits first: a reader that saw 6 and moved past it would never
see 5). So each row records the transaction that inserted it (``xact``), and a reader's
cursor is the database snapshot it last read under (``xmin:xmax:xip``, PostgreSQL's own
text form): everything that snapshot saw has been read, and what it did not see is a
transaction at or after ``xmax`` or one still running then (``xip``). Rows of those are
read next time, whenever they commit. Every transaction before ``xmin`` had finished, so
``xmin`` is how far the log can be pruned for this reader.

On SQLite writers are serialised, so ids become visible in order: the cursor is the last
id read.

The cursor lives in the index folder (``reader.json``, written after the index commit it
describes, so a crash in between only means reading some changes again, which rewrites
the same documents) and is mirrored to the reader's row for pruning and /health.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection

from app.models import SearchOutboxEntry

STATE_FILE = "reader.json"


@dataclass(frozen=True)
class Cursor:
    """What a reader has read: ``kind`` "xact" (PostgreSQL: a snapshot) or "id" (SQLite)."""

    kind: str
    xmin: int = 0
    xmax: int = 0
    xip: tuple[int, ...] = ()
    last_id: int = 0

    @property
    def position(self) -> int:
        """The log can be pruned below this for this reader."""
        return self.xmin if self.kind == "xact" else self.last_id

    def as_text(self) -> str:
        if self.kind == "xact":
            return f"{self.xmin}:{self.xmax}:{','.join(str(x) for x in self.xip)}"
        return str(self.last_id)

    @classmethod
    def from_text(cls, value: str) -> Cursor:
        if ":" in value:
            xmin, xmax, xip = value.split(":")
            return cls("xact", int(xmin), int(xmax), tuple(int(x) for x in xip.split(",") if x))
        return cls("id", last_id=int(value))

    def unread(self):
        """The WHERE clause of the rows this reader has not read (both arms use an index)."""
        table = SearchOutboxEntry.__table__
        if self.kind == "id":
            return table.c.id > self.last_id
        if self.xip:
            return or_(table.c.xact >= self.xmax, table.c.xact.in_(self.xip))
        return table.c.xact >= self.xmax


def kind_of(conn: Connection) -> str:
    return "xact" if conn.dialect.name == "postgresql" else "id"


def current_cursor(conn: Connection) -> Cursor:
    """The cursor of a reader that reads everything committed now. Take it before reading
    the rows: whatever commits in between is read now and again next time."""
    if kind_of(conn) == "xact":
        return Cursor.from_text(conn.execute(text("SELECT pg_current_snapshot()::text")).scalar_one())
    table = SearchOutboxEntry.__table__
    return Cursor("id", last_id=int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()))


@dataclass(frozen=True)
class ReaderState:
    """What the index folder says about itself: its identity and how far it has read."""

    index_id: str
    cursor: Cursor


def read_state(index_dir: str) -> ReaderState | None:
    """None for a folder whose index was never registered (built before readers existed)."""
    try:
        with open(os.path.join(index_dir, STATE_FILE), encoding="utf-8") as f:
            data = json.load(f)
        return ReaderState(str(data["index_id"]), Cursor.from_text(str(data["cursor"])))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(index_dir: str, state: ReaderState) -> None:
    """Replace the folder's state atomically (a reader never sees half a file)."""
    fd, tmp = tempfile.mkstemp(prefix=".reader-", dir=index_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"index_id": state.index_id, "cursor": state.cursor.as_text()}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, os.path.join(index_dir, STATE_FILE))
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
