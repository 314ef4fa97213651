"""A job's lease: the one row per job that a run claims before it works, so that of
several workers asked to run a job at once, one runs it and the others do nothing.

Claiming is one conditional UPDATE (free, or its lease ran out), the same on SQLite and
PostgreSQL: the database lets one of two simultaneous claims match. A job seen for the
first time has no row yet; its first claim inserts one, and of two first claims the
second is refused by the primary key. A worker stopped mid-job leaves its lease to run out.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from app.database import write_transaction
from app.extensions import db
from app.models import JobLease


def this_process() -> tuple[str, int]:
    return socket.gethostname()[:100], os.getpid()


def new_holder() -> str:
    """Who claims: this host and process, and a token of this one run."""
    host, pid = this_process()
    return f"{host}:{pid}:{secrets.token_hex(4)}"


def claim(name: str, holder: str, *, now: dt.datetime, until: dt.datetime) -> bool:
    """Take the job's lease until ``until`` if nobody holds it at ``now``."""
    try:
        with write_transaction():
            taken = db.session.execute(
                update(JobLease)
                .where(JobLease.name == name, or_(JobLease.lease_until.is_(None), JobLease.lease_until < now))
                .values(held_by=holder, lease_until=until)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken == 1:
                return True
            if db.session.get(JobLease, name) is not None:
                return False
            db.session.add(JobLease(name=name, held_by=holder, lease_until=until))
    except IntegrityError:  # another worker made the job's first lease at the same moment
        return False
    return True


def release(name: str, holder: str) -> None:
    """Give the lease back (only if it is still ours: it may have run out and been taken)."""
    with write_transaction():
        db.session.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.held_by == holder)
            .values(held_by=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )


def holder_of(name: str, now: dt.datetime) -> JobLease | None:
    """The job's lease if someone holds it at ``now``."""
    lease = db.session.get(JobLease, name)
    if lease is None or lease.lease_until is None or lease.lease_until <= now:
        return None
    return lease
