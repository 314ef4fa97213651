"""Snapshots of a test's database and search index, for set-up that costs far more than
the test itself (the access matrix's world, a loaded demo).

The first test that asks builds the starting point in its own app as before; the rows of
every table (with the sequences' positions) and the search index are then kept for this
backend in this test worker, and each later test gets them put back into its own clean
database and index folder: the same starting point, without building it again. A snapshot
older than ``max_age`` seconds is built afresh, so what is dated from "now" (links that
expire, visits next week) stays as near to now as a test building it itself would see.

Only plain values come back from a snapshot (ids, tokens): objects are loaded again from
the database put back, in the test's own session.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from app.extensions import db
from tests.conftest import empty_postgres, is_superuser


@dataclass
class _Snapshot:
    taken_at: float
    value: Any  # what the builder returned (plain values only)
    sqlite_copy: Path | None = None
    pg_tables: list[tuple[str, bytes]] | None = None  # (table, COPY ... (FORMAT BINARY) data), tables with rows only
    pg_sequences: list[tuple[str, int]] | None = None
    index_copy: Path | None = None


class Snapshots:
    """Snapshots kept for the test session in one worker (a session fixture: ``snapshots``)."""

    def __init__(self, root: Path):
        self.root = root
        self._kept: dict[tuple[str, str], _Snapshot] = {}
        self._taken = 0

    def restore_or_build(self, app, name: str, build: Callable[[], Any], *, max_age: float = 600) -> Any:
        """The database and search index of ``app`` as ``build()`` leaves them, and what it
        returned: built and kept the first time (or when the kept one is older than
        ``max_age`` seconds), put back from what was kept otherwise."""
        key = (name, app.config["DB_BACKEND"])
        kept = self._kept.get(key)
        if kept is not None and time.monotonic() - kept.taken_at < max_age:
            _restore(app, kept)
            return kept.value
        value = build()
        db.session.commit()
        self._taken += 1
        self._kept[key] = _take(app, self.root / f"{name}-{key[1]}-{self._taken}", value)
        return value


def _table_names(bind) -> list[str]:
    """Every table, parents before children where the models say so (alembic's own table left out)."""
    present = set(inspect(bind).get_table_names()) - {"alembic_version"}
    ordered = [t.name for t in db.metadata.sorted_tables if t.name in present]
    return ordered + sorted(present - set(ordered))


_SUPERUSER: dict[str, bool] = {}  # database URL -> whether the tests' role is a superuser


def _sqlite_path(app) -> str:
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database


def _take(app, folder: Path, value: Any) -> _Snapshot:
    folder.mkdir(parents=True)
    snapshot = _Snapshot(taken_at=time.monotonic(), value=value)
    db.session.remove()
    if app.config["DB_BACKEND"] == "sqlite":
        snapshot.sqlite_copy = folder / "database.sqlite3"
        with closing(sqlite3.connect(_sqlite_path(app))) as source, closing(sqlite3.connect(snapshot.sqlite_copy)) as copy:
            source.backup(copy)
    else:
        snapshot.pg_tables, snapshot.pg_sequences = [], []
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            for table in _table_names(conn):
                if not conn.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')).scalar():
                    continue
                with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" TO STDOUT (FORMAT BINARY)') as copy:
                    snapshot.pg_tables.append((table, b"".join(bytes(chunk) for chunk in copy)))
            snapshot.pg_sequences = [
                (f'"{schema}"."{name}"', last)
                for schema, name, last in conn.execute(
                    text("SELECT schemaname, sequencename, last_value FROM pg_sequences WHERE schemaname = current_schema()")
                )
                if last is not None
            ]
            conn.rollback()
    index = Path(app.config["SEARCH_INDEX_DIR"])
    if index.exists():
        snapshot.index_copy = folder / "search-index"
        shutil.copytree(index, snapshot.index_copy)
    return snapshot


def _restore(app, snapshot: _Snapshot) -> None:
    db.session.remove()
    if snapshot.sqlite_copy is not None:
        db.engine.dispose()
        with closing(sqlite3.connect(snapshot.sqlite_copy)) as copy, closing(sqlite3.connect(_sqlite_path(app))) as target:
            copy.backup(target)
    else:
        with db.engine.begin() as conn:
            url = app.config["SQLALCHEMY_DATABASE_URI"]
            if url not in _SUPERUSER:
                _SUPERUSER[url] = is_superuser(conn)
            empty_postgres(conn, superuser=_SUPERUSER[url])
            raw = conn.connection.driver_connection
            for table, data in snapshot.pg_tables:
                with raw.cursor() as cursor, cursor.copy(f'COPY "{table}" FROM STDIN (FORMAT BINARY)') as copy:
                    copy.write(data)
            for sequence, last in snapshot.pg_sequences:
                conn.execute(text("SELECT setval(CAST(:s AS regclass), :v)"), {"s": sequence, "v": last})
    app.extensions.pop("search_engines", None)  # nothing read from the index folder before now is kept
    index = Path(app.config["SEARCH_INDEX_DIR"])
    if index.exists():
        shutil.rmtree(index)
    if snapshot.index_copy is not None:
        shutil.copytree(snapshot.index_copy, index)
