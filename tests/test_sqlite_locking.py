"""Why web requests begin IMMEDIATE on SQLite: a read-then-write unit of work must not fail
with "database is locked" because another connection wrote in between."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from app import database  # noqa: F401  (installs the BEGIN handling on every engine)
from app.database import sqlite_begin_mode


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'locking.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (1, 0)"))
    yield engine
    engine.dispose()


def _read_then_write(engine, mode: str, other_writes: threading.Event, go_on: threading.Event, outcome: list):
    with sqlite_begin_mode(mode):
        try:
            with engine.begin() as conn:
                n = conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
                other_writes.set()
                go_on.wait(5)
                conn.execute(text("UPDATE counter SET n = :n WHERE id = 1"), {"n": n + 1})
            outcome.append("ok")
        except OperationalError as exc:
            outcome.append(str(exc.orig))


def _race(engine, mode: str) -> tuple[list, int]:
    other_writes, go_on, outcome = threading.Event(), threading.Event(), []
    first = threading.Thread(target=_read_then_write, args=(engine, mode, other_writes, go_on, outcome))
    first.start()
    other_writes.wait(5)

    def other():
        with sqlite_begin_mode(mode), engine.begin() as conn:
            conn.execute(text("UPDATE counter SET n = n + 1 WHERE id = 1"))

    second = threading.Thread(target=other)
    second.start()
    time.sleep(0.3)
    go_on.set()
    first.join(30)
    second.join(30)
    with engine.connect() as conn:
        final = conn.execute(text("SELECT n FROM counter WHERE id = 1")).scalar_one()
    return outcome, final


def test_deferred_read_then_write_fails_when_another_connection_wrote(engine):
    outcome, final = _race(engine, "DEFERRED")
    assert outcome == ["database is locked"]
    assert final == 1  # only the other writer's increment landed


def test_immediate_makes_them_take_turns_and_loses_no_update(engine):
    outcome, final = _race(engine, "IMMEDIATE")
    assert outcome == ["ok"]
    assert final == 2


def test_web_requests_begin_immediate(app):

    from app.database import _sqlite_begin_mode

    seen = []

    @app.get("/begin-mode-for-test")
    def begin_mode():
        seen.append(_sqlite_begin_mode.get())
        return "ok"

    app.test_client().get("/begin-mode-for-test")
    assert seen == ["IMMEDIATE"]
    assert _sqlite_begin_mode.get() == "DEFERRED"  # reset after the request
