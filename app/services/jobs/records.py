"""The record of every run: started, finished (ok or failed, with a sentence or the
error), or skipped because another worker held the job. Runs older than 90 days are
deleted by the job's own next run. A run left "running" by a stopped worker is closed as
failed by the next run that holds the lease (nobody else can still be running it)."""

from __future__ import annotations

import datetime as dt
import traceback
from collections.abc import Sized

from sqlalchemy import delete, select, update

from app.database import write_transaction
from app.extensions import db
from app.models import JobRun, RunOutcome
from app.services.jobs.leases import this_process
from app.services.jobs.table import Job

KEEP_FOR = dt.timedelta(days=90)
MAX_ERROR = 4000
MAX_SUMMARY = 300
STOPPED = "The worker stopped before the job finished (its lease ran out, and a later run took the job)."


def _new(job: Job, trigger: str, now: dt.datetime, outcome: RunOutcome) -> JobRun:
    host, pid = this_process()
    run = JobRun(job=job.name, started_at=now, outcome=outcome, host=host, pid=pid, trigger=trigger, summary="")
    db.session.add(run)
    return run


def skipped(job: Job, trigger: str, now: dt.datetime) -> JobRun:
    with write_transaction():
        run = _new(job, trigger, now, RunOutcome.SKIPPED)
        run.finished_at = now
        run.summary = "Another worker was running this job"
    return run


def start(job: Job, trigger: str, now: dt.datetime) -> JobRun:
    """Record a run as started (the caller holds the lease), closing any run a stopped
    worker left open."""
    with write_transaction():
        db.session.execute(
            update(JobRun)
            .where(JobRun.job == job.name, JobRun.outcome == RunOutcome.RUNNING)
            .values(outcome=RunOutcome.FAILED, finished_at=now, error=STOPPED, summary="Did not finish")
            .execution_options(synchronize_session=False)
        )
        run = _new(job, trigger, now, RunOutcome.RUNNING)
    return run


def finish(run_id: int, outcome: RunOutcome, *, at: dt.datetime, summary: str = "", error: str | None = None) -> JobRun:
    # Each write here starts its own write transaction (BEGIN IMMEDIATE on SQLite): a read
    # left open while another worker thread committed would make SQLite refuse the write.
    with write_transaction():
        run = db.session.get(JobRun, run_id)
        run.outcome, run.finished_at = outcome, at
        run.summary = summary[:MAX_SUMMARY]
        run.error = error[-MAX_ERROR:] if error else None
    return run


def prune(job_name: str, now: dt.datetime) -> int:
    with write_transaction():
        gone = db.session.execute(delete(JobRun).where(JobRun.job == job_name, JobRun.started_at < now - KEEP_FOR)).rowcount
    return gone


def summarise(result: object) -> str:
    """A job's return value as a sentence for its record."""
    if result is None:
        return "Done"
    if isinstance(result, str):
        return result
    if isinstance(result, bool):
        return "Done" if result else "Nothing to do"
    if isinstance(result, int):
        return f"{result} done"
    if isinstance(result, Sized):
        return f"{len(result)} done"
    return str(result)


def describe(error: BaseException, *, expected: type[BaseException]) -> str:
    """What went wrong: the message alone for a problem the job reported, the traceback's
    end for anything else."""
    if isinstance(error, expected):
        return str(error)
    return "".join(traceback.format_exception(error))


def last_line(text: str) -> str:
    """An error's last line: the exception and its message, after any traceback."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:MAX_SUMMARY] if lines else "Failed"


def recent(job_name: str, limit: int, *, finished_only: bool = False) -> list[JobRun]:
    """The job's latest runs, newest first, leaving out skipped ones (and running ones too
    with ``finished_only``)."""
    left_out = [RunOutcome.SKIPPED] + ([RunOutcome.RUNNING] if finished_only else [])
    query = (
        select(JobRun)
        .where(JobRun.job == job_name, JobRun.outcome.not_in(left_out))
        .order_by(JobRun.started_at.desc(), JobRun.id.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def history(job_name: str, limit: int = 20) -> list[JobRun]:
    """Every recorded run of the job, skipped ones too, newest first."""
    query = select(JobRun).where(JobRun.job == job_name).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    return list(db.session.execute(query).scalars())
