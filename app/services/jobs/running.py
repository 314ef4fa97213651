"""Running one job: claim its lease, record the run, do the work, record how it ended,
tell the admins when it has failed 3 times in a row, give the lease back.

Several workers may be asked to run a job at the same moment (each worker's scheduler
asks every minute): one claims the lease and runs it; the others record a skipped run and
do nothing. A worker stopped mid-job leaves its lease to run out; the next run closes the
stopped run as failed and does the work, which every job's function finishes without
doing any of it twice (see table).
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import JobRun, RunOutcome
from app.services.jobs import alerts, leases, records, table
from app.services.jobs.work import JobProblem

log = logging.getLogger(__name__)

TRIGGERS = ("schedule", "command", "admin")


def run(name: str, *, trigger: str = "schedule", now: dt.datetime | None = None) -> JobRun:
    """Run the job called ``name`` now (NotFound if there is none); the run's record.
    ``now``: the moment the job works as of (tests pass one; the clock otherwise)."""
    if trigger not in TRIGGERS:
        raise ValueError(f"trigger is one of {', '.join(TRIGGERS)}")
    job = table.get(name)
    now = now or utcnow()
    holder = leases.new_holder()
    if not leases.claim(job.name, holder, now=now, until=now + job.lease):
        return records.skipped(job, trigger, now)
    try:
        return _run_holding_lease(job, trigger, now)
    finally:
        db.session.rollback()
        leases.release(job.name, holder)


def _run_holding_lease(job: table.Job, trigger: str, now: dt.datetime) -> JobRun:
    run_id = records.start(job, trigger, now).id
    began = time.monotonic()
    try:
        summary = records.summarise(table.resolve(job)(now=now))
        db.session.commit()
    except Exception as error:  # any failure is the run's outcome, recorded below
        db.session.rollback()
        if isinstance(error, JobProblem):
            log.warning("Scheduled job %s failed: %s", job.name, error)
        else:
            log.exception("Scheduled job %s failed", job.name)
        text = records.describe(error, expected=JobProblem)
        finished = records.finish(
            run_id,
            RunOutcome.FAILED,
            at=now + dt.timedelta(seconds=time.monotonic() - began),
            summary=records.last_line(text),
            error=text,
        )
        with write_transaction():
            alerts.after_failure(job, finished)
    else:
        finished = records.finish(run_id, RunOutcome.OK, at=now + dt.timedelta(seconds=time.monotonic() - began), summary=summary)
    records.prune(job.name, now)
    return finished
