"""Small reference tables that every search reads, held in this process's memory instead
of read from the database on every search: the types of support (their names and order),
the framework lots' weights, the council's own need words, and postcode districts.

Each is read again when it is older than its ``seconds`` (so a change made on another host
shows within that time: a second for what commissioners edit, the same order as the search
index's own catch-up), and at once when this process commits a change to one of the tables
it was read from (engine events below: every INSERT, UPDATE or DELETE statement built with
SQLAlchemy, from the ORM or not), so the person who made the change sees it on their next
page.

``version`` goes up each time a read finds different rows, for caches built from the
value (the place bitsets follow the districts' version).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import UpdateBase

T = TypeVar("T")

CHANGED_KEY = "search_held_changed"
EDITED_SECONDS = 1.0  # what commissioners edit: another host's change shows within this


class Held(Generic[T]):
    """One value read by ``load`` (inside an app context), kept for ``seconds``."""

    def __init__(self, load: Callable[[], T], seconds: float, tables: frozenset[str]):
        self.load = load
        self.seconds = seconds
        self.tables = tables  # the tables it is read from: a committed change to one clears it
        self.loaded_at = -math.inf
        self.value: T | None = None
        self.version = 0
        self.lock = threading.Lock()

    def get(self) -> T:
        with self.lock:
            if time.monotonic() - self.loaded_at > self.seconds:
                value = self.load()
                if value != self.value:
                    self.value = value
                    self.version += 1
                self.loaded_at = time.monotonic()
            return self.value

    def clear(self) -> None:
        with self.lock:
            self.loaded_at = -math.inf


def held(name: str, load: Callable[[], T], *, seconds: float, tables: frozenset[str]) -> Held[T]:
    """This app's held value called ``name`` (made on first use)."""
    store: dict[str, Held] = current_app.extensions.setdefault("search_held", {})
    found = store.get(name)
    if found is None:
        found = store.setdefault(name, Held(load, seconds, tables))
    return found


def _clear_tables(tables: set[str]) -> None:
    if not has_app_context():
        return
    for value in current_app.extensions.get("search_held", {}).values():
        if value.tables & tables:
            value.clear()


@event.listens_for(Engine, "after_execute")
def _note_written_table(conn, clauseelement, multiparams, params, execution_options, result) -> None:
    # Every INSERT, UPDATE and DELETE built with SQLAlchemy passes here: the ORM's flushes
    # and bulk statements, and Core statements on a connection alike.
    if isinstance(clauseelement, UpdateBase):
        table = getattr(clauseelement, "table", None)
        name = getattr(table, "name", None)
        if name is not None:
            conn.info.setdefault(CHANGED_KEY, set()).add(name)


@event.listens_for(Engine, "commit")
def _clear_on_commit(conn) -> None:
    tables = conn.info.pop(CHANGED_KEY, None)
    if tables:
        _clear_tables(tables)


@event.listens_for(Engine, "rollback")
def _forget_on_rollback(conn) -> None:
    conn.info.pop(CHANGED_KEY, None)
