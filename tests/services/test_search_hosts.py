"""Several hosts on one database, each with its own index folder: every index reads every
change from the log, the log is pruned only below every live index, a host unseen for a
week is dropped and rebuilds when it comes back, and /health shows each host's lag."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.database import utcnow
from app.extensions import db
from app.models import SearchIndexReader, SearchOutboxEntry, Service
from app.services import search
from app.services.search import SearchParams, writer
from app.services.search.cursor import read_state

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def two_indexes(app, tmp_path):
    """This app's own index (its commits drain into it) and another host's folder."""
    here, there = app.config["SEARCH_INDEX_DIR"], str(tmp_path / "other-host-index")
    search.rebuild(here)
    search.rebuild(there)
    return here, there


def titles(index_dir: str, q: str) -> list[str]:
    db.session.rollback()
    return [i.title for i in search.search(SearchParams(q=q), index_dir=index_dir).items]


def logged_ids() -> set[int]:
    db.session.rollback()
    return set(db.session.execute(select(SearchOutboxEntry.id)).scalars())


def unread(index_dir: str) -> int:
    return search.index_status(index_dir)["pending_changes"]


def test_two_indexes_each_take_in_every_change(two_indexes, make_service):
    here, there = two_indexes
    service = make_service(title="Riverside day centre")
    service.title = "Meadow day centre"
    db.session.commit()
    assert titles(here, "meadow") == ["Meadow day centre"]
    assert titles(there, "meadow") == ["Meadow day centre"]  # the search caught up with the log
    assert titles(there, "riverside") == []
    assert unread(here) == unread(there) == 0


def test_the_log_is_pruned_only_below_every_live_reader(two_indexes, make_service, backend):
    here, there = two_indexes
    make_service(title="Orchard lunch club")
    assert unread(here) == 0
    kept = logged_ids()
    assert kept and unread(there) >= 1  # the other host has not read it: it stays
    assert search.drain(there).state == "done"
    assert unread(there) == 0
    # Read by both: pruned below the lower of the two positions. On PostgreSQL a position
    # is a snapshot's xmin, which any open transaction on the server holds back, so rows
    # of transactions since then may stay; SQLite keeps the row at the lowest position.
    db.session.rollback()
    lowest = db.session.execute(select(func.min(SearchIndexReader.position))).scalar_one()
    column = SearchOutboxEntry.xact if backend == "postgresql" else SearchOutboxEntry.id
    left = dict(db.session.execute(select(SearchOutboxEntry.id, column)).all())
    assert set(left) <= kept and all(value >= lowest for value in left.values())
    assert len(left) < len(kept) or backend == "postgresql"
    assert titles(there, "orchard") == ["Orchard lunch club"]


def test_a_change_committed_after_a_later_one_is_still_read(two_indexes, make_service, backend):
    """PostgreSQL ids become visible out of order: A takes the earlier id but commits after B."""
    if backend != "postgresql":
        pytest.skip("SQLite serialises writers, so ids become visible in order")
    here, _ = two_indexes
    first, second = make_service(title="Alpha visits"), make_service(title="Beta visits")
    first_id = first.id
    db.session.commit()
    with Session(db.engine) as txn_a:
        txn_a.get(Service, first_id).title = "Aardvark visits"
        txn_a.flush()  # A's log row is written (the earlier id), A still open
        second.title = "Badger visits"
        db.session.commit()  # B commits first; its own drain reads the log now
        assert search.drain(here).state == "done"
        assert titles(here, "badger") == ["Badger visits"]
        assert titles(here, "aardvark") == []
        a_row, b_row = sorted(logged_ids())[-2:]
        assert a_row < b_row
        txn_a.commit()
    assert search.drain(here).state == "done"
    assert titles(here, "aardvark") == ["Aardvark visits"]
    assert titles(here, "badger") == ["Badger visits"]


def test_a_reader_silent_for_eight_days_is_dropped_and_rebuilds(two_indexes, make_service):
    here, there = two_indexes
    gone = read_state(there).index_id
    db.session.execute(
        update(SearchIndexReader).where(SearchIndexReader.index_id == gone).values(last_read_at=utcnow() - dt.timedelta(days=8))
    )
    db.session.commit()
    make_service(title="Willow home care")  # its drain prunes: the silent reader goes, and what only it needed
    readers = {r.index_id for r in db.session.execute(select(SearchIndexReader)).scalars()}
    assert gone not in readers and read_state(here).index_id in readers
    assert unread(here) == 0
    status = search.index_status(there)
    assert status["state"] == "unregistered" and not status["ok"]
    assert search.drain(there).state == "unregistered"
    # Searching there starts a rebuild in the background; the old index answers meanwhile.
    titles(there, "willow")
    writer.background_drain(there).join(60)
    assert titles(there, "willow") == ["Willow home care"]
    back = read_state(there).index_id
    assert back != gone and search.index_status(there)["state"] == "ready"


def test_health_shows_each_host_and_how_far_behind_it_is(two_indexes, make_service, client):
    here, there = two_indexes
    make_service(title="Hilltop sitting service")
    report = client.get("/health").get_json()["search_index"]
    assert report["state"] == "ready" and report["pending_changes"] == 0
    assert report["index_id"] == read_state(here).index_id
    readers = {r["index_id"]: r for r in report["readers"]}
    assert set(readers) == {read_state(here).index_id, read_state(there).index_id}
    lagging = readers[read_state(there).index_id]
    assert lagging["pending_changes"] >= 1 and lagging["oldest_change_age_seconds"] is not None
    assert lagging["host"].endswith(os.path.abspath(there))
    assert readers[read_state(here).index_id]["pending_changes"] == 0


# Two app servers on one PostgreSQL ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(db_url: str, index_dir: str, instance: Path, port: int) -> subprocess.Popen:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "APP_ENV": "development",
        "DATABASE_URL": db_url,
        "SEARCH_INDEX_DIR": index_dir,
        "INSTANCE_PATH": str(instance),
        "SEARCH_FOLLOW_SECONDS": "1",
        "RATELIMIT_ENABLED": "0",
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port), "--no-reload"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _get(port: int, path: str) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.stderr.read().decode()[-3000:]
        try:
            _get(port, "/health")
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not start")


def test_an_edit_on_one_host_shows_in_the_other_hosts_search_within_two_seconds(app, backend, make_service, tmp_path):
    if backend != "postgresql":
        pytest.skip("several hosts share one PostgreSQL (SQLite is one machine's file)")
    service = make_service(title="Lantern day centre")
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    index_a, index_b = str(tmp_path / "host-a-index"), str(tmp_path / "host-b-index")
    search.rebuild(index_a)
    search.rebuild(index_b)
    db.session.commit()
    ports = _free_port(), _free_port()
    servers = [_serve(db_url, d, tmp_path / f"instance-{n}", p) for n, (d, p) in enumerate(zip((index_a, index_b), ports, strict=True))]
    try:
        for port, server in zip(ports, servers, strict=True):
            _wait_until_up(port, server)
        assert "Lantern day centre" in _get(ports[1], "/search?q=lantern")[1]
        # Host A's edit: this process works as host A (its own drain writes host A's index).
        app.config["SEARCH_INDEX_DIR"] = index_a
        service.title = "Beacon day centre"
        db.session.commit()
        edited = time.monotonic()
        while "Beacon day centre" not in _get(ports[1], "/search?q=beacon")[1]:
            assert time.monotonic() - edited < 2.0, "host B's search did not show host A's edit within 2 seconds"
            time.sleep(0.05)
        assert "Lantern day centre" not in _get(ports[1], "/search?q=lantern")[1]
        # B's follower keeps its index current even when nobody searches there.
        service.title = "Harbour day centre"
        db.session.commit()
        edited = time.monotonic()
        while True:
            report = json.loads(_get(ports[1], "/health")[1])["search_index"]
            assert report["host"].endswith(os.path.abspath(index_b))
            if report["pending_changes"] == 0:
                break
            assert time.monotonic() - edited < 2.0, "host B's follower did not read host A's edit within 2 seconds"
            time.sleep(0.05)
        assert {r["host"].split(":", 1)[1] for r in report["readers"]} >= {os.path.abspath(index_a), os.path.abspath(index_b)}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(10)
