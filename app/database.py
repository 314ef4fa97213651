"""Database plumbing shared by every model and service.

* ``UTCDateTime``: timezone-aware datetimes stored as UTC on every database.
* SQLite is configured for concurrent use (WAL, foreign keys, busy timeout), and the
  driver's own transaction handling is replaced by explicit ``BEGIN`` statements so that a
  unit of work that writes money can take the write lock *before* it reads
  (``BEGIN IMMEDIATE``). ``with_for_update()`` is silently ignored on SQLite; this is how
  we get the same guarantee there.
* ``write_transaction()``: the one way services open a unit of work that must not
  interleave with other writers.
* ``unnested``: any number of rows as one set of PostgreSQL array parameters, so one
  statement built once writes them all; ``insert_together``: rows for several tables in one
  statement.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

from sqlalchemy import DateTime, Table, bindparam, cast, column, event, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.extensions import db

# The largest id (or other whole number) any of our integer columns holds: a bigger one
# names no row, and asking the database for it is an error rather than "not found".
MAX_ID = 2**31 - 1

_sqlite_begin_mode: contextvars.ContextVar[str] = contextvars.ContextVar("sqlite_begin_mode", default="DEFERRED")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime, always stored and returned in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where a timezone-aware one is required")
        value = value.astimezone(dt.UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record):  # pragma: no cover - wiring
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Hand transaction control to SQLAlchemy's "begin" event below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):  # pragma: no cover - wiring
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"BEGIN {_sqlite_begin_mode.get()}")


@contextmanager
def sqlite_begin_mode(mode: str) -> Iterator[None]:
    """Start SQLite transactions opened inside this block with ``BEGIN <mode>`` (DEFERRED or
    IMMEDIATE), whatever unit of work surrounds it: for work on a separate connection, such
    as the search index drain that runs just after another unit of work commits."""
    if mode not in ("DEFERRED", "IMMEDIATE"):
        raise ValueError(mode)
    token = _sqlite_begin_mode.set(mode)
    try:
        yield
    finally:
        _sqlite_begin_mode.reset(token)


def is_sqlite(session: Session | None = None) -> bool:
    session = session or db.session
    return session.get_bind().dialect.name == "sqlite"


@contextmanager
def write_transaction(session: Session | None = None) -> Iterator[Session]:
    """Run a unit of work that writes, committing at the end (rolling back on error).

    On SQLite the transaction is started with ``BEGIN IMMEDIATE`` so it holds the single
    write lock from its first read: a check followed by a write cannot interleave with
    another writer. On PostgreSQL the services use row locks or conditional updates.
    Any read-only transaction already open on the session is ended first; pending,
    unflushed changes at that point are a programming error.
    """
    session = session or db.session()
    if isinstance(session, scoped_session):
        session = session()
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("write_transaction() started with unsaved changes in the session")
    if session.in_transaction():
        session.commit()
    token = _sqlite_begin_mode.set("IMMEDIATE")
    try:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        _sqlite_begin_mode.reset(token)


def init_request_locking(app) -> None:
    """On SQLite, every web request's transactions begin IMMEDIATE.

    A request that reads and then writes (signing in records the session; a booking reads
    the budget then holds money) would otherwise fail with "database is locked" if another
    request wrote in between: SQLite cannot upgrade a stale read snapshot to a write, and
    its busy timeout does not apply to that case. Taking the write lock when the request's
    first transaction begins makes requests on the embedded database take turns instead.
    Read-only work on separate connections (search, health) asks for DEFERRED itself.
    PostgreSQL is unaffected (row locks and conditional updates do the work there).
    """
    from flask import request

    key = "marketplace.sqlite_begin_token"

    @app.before_request
    def _sqlite_requests_begin_immediate():
        request.environ[key] = _sqlite_begin_mode.set("IMMEDIATE")

    @app.teardown_request
    def _sqlite_requests_reset(_exc=None):
        token = request.environ.pop(key, None)
        if token is not None:
            _sqlite_begin_mode.reset(token)


_MEMO_KEY = "marketplace.unit_of_work_memo"


def unit_of_work_memo(session: Session | None = None) -> dict:
    """A dict that lives as long as the current database transaction: for rows a unit of
    work reads more than once (a budget it locked, an account it posts to). It is emptied
    when the transaction ends and on any rollback (a savepoint's too), so nothing read in
    one unit of work, or undone in it, is ever seen by another."""
    session = session or db.session()
    if isinstance(session, scoped_session):
        session = session()
    return session.info.setdefault(_MEMO_KEY, {})


@event.listens_for(Session, "after_transaction_end")
def _forget_at_end(session, transaction):  # pragma: no cover - wiring
    if transaction.parent is None:
        session.info.pop(_MEMO_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction):  # pragma: no cover - wiring
    session.info.pop(_MEMO_KEY, None)


def unnested(name: str, columns: dict[str, TypeEngine]):
    """PostgreSQL: rows given as one array parameter per column (``name_column``, filled by
    ``unnested_params``), as a FROM named ``name`` (``unnest(...) AS name(column, ...)``), for
    an INSERT ... SELECT that writes any number of rows with the same statement, compiled
    once and prepared by the server once per connection."""
    arrays = [cast(bindparam(f"{name}_{key}"), ARRAY(type_)) for key, type_ in columns.items()]
    rows = func.unnest(*arrays).table_valued(*(column(key, type_) for key, type_ in columns.items()))
    return rows.render_derived(name=name)


def unnested_params(name: str, columns, rows) -> dict[str, list]:
    """The parameters of ``unnested(name, columns)`` for ``rows`` (dicts by column)."""
    return {f"{name}_{key}": [row[key] for row in rows] for key in columns}


def insert_together(parts: Sequence[tuple[Table, list[dict]]]) -> None:
    """Write rows into several tables now, in the current unit of work, nothing read back:
    on PostgreSQL in one statement (each table's insert a data-modifying CTE of the next),
    built once per process for each mix of tables and columns; on SQLite one statement per
    table. Every row of a table names the same columns, and gives every column with a
    default its value (one statement cannot apply several tables' defaults; ValueError)."""
    parts = [(table, rows) for table, rows in parts if rows]
    for table, rows in parts:
        _check_rows(table, rows)
    if not parts:
        return
    if is_sqlite():
        for table, rows in parts:
            db.session.execute(insert(table), rows)
        return
    shape = tuple((table, tuple(rows[0])) for table, rows in parts)
    params = {}
    for number, (_, rows) in enumerate(parts):
        params |= unnested_params(f"rows{number}", rows[0], rows)
    db.session.execute(_together_statement(shape), params)


def _check_rows(table: Table, rows: list[dict]) -> None:
    if any(row.keys() != rows[0].keys() for row in rows):
        raise ValueError(f"rows for {table.name} name different columns")
    left_out = [c.name for c in table.c if c.default is not None and c.name not in rows[0]]
    if left_out:
        raise ValueError(f"rows for {table.name} leave out {', '.join(left_out)}: give them their values")


@cache
def _together_statement(shape: tuple[tuple[Table, tuple[str, ...]], ...]):
    inserts = []
    for number, (table, names) in enumerate(shape):
        rows = unnested(f"rows{number}", {name: table.c[name].type for name in names})
        inserts.append(insert(table).from_select(names, select(*rows.c)))
    *first, last = inserts
    for number, statement in enumerate(first):
        last = last.add_cte(statement.cte(f"written{number}"))
    return last
