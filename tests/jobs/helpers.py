"""Helpers for the scheduled jobs' tests."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.extensions import db
from app.models import JobRun, OutboundEmail


def at_once(app, count, work):
    """Run ``work(i)`` in ``count`` threads, each with its own connection, released
    together by a barrier; their results in order (an exception is a result too)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    db.session.commit()  # the test's own transaction must not hide their work

    def worker(i):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results[i] = work(i)
            except Exception as exc:  # asserted on by the test
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    db.session.rollback()
    return results


def runs_of(name: str) -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.execute(select(JobRun).where(JobRun.job == name).order_by(JobRun.id)).scalars())


def emails_to(address: str, subject_starts: str = "") -> list[OutboundEmail]:
    db.session.expire_all()
    rows = db.session.execute(select(OutboundEmail).where(OutboundEmail.to_address == address).order_by(OutboundEmail.id)).scalars()
    return [row for row in rows if row.subject.startswith(subject_starts)]
