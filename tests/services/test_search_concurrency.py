"""The index stays right with several worker processes writing at once, and when a worker
dies holding the index lock. Each writer is a separate OS process, as gunicorn workers are."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
import traceback

from sqlalchemy import select

from app.extensions import db
from app.models import SearchOutboxEntry, Service, ServiceStatus
from app.services import search
from app.services.search import SearchParams, bitsets, schema

WRITERS = 4
ROUNDS = 6


def _app(db_url: str, index_dir: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SEARCH_INDEX_DIR": index_dir, "TESTING": True})


def _writer(db_url: str, index_dir: str, worker: int, service_ids: list[int], start, results) -> None:
    """One worker process: edits its services, round after round, committing each edit as
    a web request would; every commit tries to drain the outbox into the index."""
    try:
        from app.database import write_transaction

        app = _app(db_url, index_dir)
        with app.app_context():
            start.wait(30)
            for round_no in range(ROUNDS):
                for service_id in service_ids:
                    with write_transaction() as session:
                        service = session.get(Service, service_id)
                        service.title = f"Visit w{worker}r{round_no}s{service_id}"
                        service.price_pence = 1000 + worker * 100 + round_no
                        # Every third service ends withdrawn, the rest published.
                        last = round_no == ROUNDS - 1
                        service.status = ServiceStatus.WITHDRAWN if (last and service_id % 3 == 0) else ServiceStatus.PUBLISHED
            db.session.remove()
        results.put((worker, "ok"))
    except BaseException:
        results.put((worker, traceback.format_exc()))


def _lock_holder(index_dir: str, ready) -> None:
    with search.index_lock(index_dir) as held:
        ready.set()
        assert held
        time.sleep(60)  # killed long before this ends


def _index_titles() -> dict[int, tuple[str, int]]:
    snap = search.engine().snapshot()
    live = bitsets.positions(snap.live)
    return {snap.attrs[n][schema.A_ID]: (snap.attrs[n][schema.A_TITLE], snap.attrs[n][schema.A_PRICE]) for n in live}


def _database_titles() -> dict[int, tuple[str, int]]:
    db.session.rollback()
    rows = db.session.execute(select(Service.id, Service.title, Service.price_pence).where(Service.status == ServiceStatus.PUBLISHED)).all()
    return {r.id: (r.title, r.price_pence) for r in rows}


def test_concurrent_writers_in_separate_processes_lose_nothing(app, make_provider, make_service):
    provider = make_provider()
    services = [make_service(provider=provider, title=f"Visit {n}").id for n in range(WRITERS * 5)]
    search.rebuild()
    db.session.remove()
    db_url, index_dir = app.config["SQLALCHEMY_DATABASE_URI"], app.config["SEARCH_INDEX_DIR"]

    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    processes = [ctx.Process(target=_writer, args=(db_url, index_dir, w, services[w::WRITERS], start, results)) for w in range(WRITERS)]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(180)
    outcomes = dict(results.get(timeout=5) for _ in processes)
    assert outcomes == dict.fromkeys(range(WRITERS), "ok"), outcomes  # no LockError, no failure anywhere

    # Nobody drained after the writers stopped: the writers' own drains took everything in.
    assert search.index_status(index_dir)["pending_changes"] == 0
    expected = _database_titles()
    assert len(expected) == len(services) - len([s for s in services if s % 3 == 0])
    assert _index_titles() == expected
    status = search.index_status(index_dir)
    assert status["state"] == "ready" and status["documents"] == len(expected)


def test_a_worker_killed_while_holding_the_index_lock_blocks_nothing(app, make_service):
    service = make_service(title="Before")
    search.rebuild()
    index_dir = app.config["SEARCH_INDEX_DIR"]
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Event()
    holder = ctx.Process(target=_lock_holder, args=(index_dir, ready))
    holder.start()
    try:
        assert ready.wait(30)
        service.title = "During"
        db.session.commit()  # its drain finds the lock taken: the change stays queued
        assert db.session.execute(select(SearchOutboxEntry)).first() is not None
    finally:
        os.kill(holder.pid, signal.SIGKILL)  # the worker is recycled mid-drain
        holder.join(10)
    db.session.rollback()
    # The kernel released the lock with the process; the next search takes the change in.
    results = search.search(SearchParams(q="during"))
    assert [i.title for i in results.items] == ["During"]
    db.session.rollback()  # a fresh look, as a new request would have
    assert search.index_status(index_dir)["pending_changes"] == 0


def _same_service_writer(db_url: str, index_dir: str, worker: int, service_id: int, start, results) -> None:
    """One worker process editing the one service the other is editing too."""
    try:
        from app.database import write_transaction

        app = _app(db_url, index_dir)
        with app.app_context():
            start.wait(30)
            for round_no in range(ROUNDS * 2):
                with write_transaction() as session:
                    service = session.get(Service, service_id)
                    service.title = f"Visit w{worker}r{round_no}"
                    service.price_pence = 1000 + worker * 100 + round_no
                time.sleep(0.01 * ((worker + round_no) % 3))
            db.session.remove()
        results.put((worker, "ok"))
    except BaseException:
        results.put((worker, traceback.format_exc()))


def test_two_processes_editing_the_same_service_leave_the_last_committed_value(app, make_service):
    service_id = make_service(title="Visit first").id
    search.rebuild()
    db.session.remove()
    db_url, index_dir = app.config["SQLALCHEMY_DATABASE_URI"], app.config["SEARCH_INDEX_DIR"]
    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    processes = [ctx.Process(target=_same_service_writer, args=(db_url, index_dir, w, service_id, start, results)) for w in range(2)]
    for p in processes:
        p.start()
    start.set()
    for p in processes:
        p.join(180)
    assert dict(results.get(timeout=5) for _ in processes) == {0: "ok", 1: "ok"}
    assert search.index_status(index_dir)["pending_changes"] == 0
    last = _database_titles()
    assert last[service_id][0].startswith("Visit w") and last[service_id][0].endswith(f"r{ROUNDS * 2 - 1}")
    assert _index_titles() == last  # whichever commit came last is what search shows
    found = search.search(SearchParams(q=last[service_id][0].split()[1]))
    assert [(i.title, i.price_pence) for i in found.items] == [last[service_id]]
