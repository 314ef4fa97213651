"""Each job as the admin page shows it: what it is, when it runs next (from its crontab,
in UK time), its last run, whether it is running now and whether it is failing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.database import utcnow
from app.models import JobRun, RunOutcome
from app.services.jobs import alerts, leases, records
from app.services.jobs.table import JOBS, Job


@dataclass(frozen=True)
class JobStatus:
    job: Job
    last: JobRun | None  # the latest run that was not skipped (it may be running)
    next_run: dt.datetime | None
    failing: bool
    running_since: dt.datetime | None


def status_of(job: Job, now: dt.datetime) -> JobStatus:
    latest = records.recent(job.name, 1)
    last = latest[0] if latest else None
    held = leases.holder_of(job.name, now)
    running = last.started_at if held is not None and last is not None and last.outcome is RunOutcome.RUNNING else None
    return JobStatus(
        job=job,
        last=last,
        next_run=job.schedule.next_after(now),
        failing=alerts.is_failing(records.recent(job.name, alerts.IN_A_ROW, finished_only=True)),
        running_since=running,
    )


def statuses(now: dt.datetime | None = None) -> list[JobStatus]:
    now = now or utcnow()
    return [status_of(job, now) for job in JOBS]
