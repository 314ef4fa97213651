"""Scheduled jobs: who holds each job now (a lease), what every run did, and which
reminders have been sent (so a reminder goes once, however often its job runs).

A lease is one row per job, claimed with one conditional UPDATE: a worker that dies
mid-job leaves a lease that runs out, and the next run claims it. Runs are kept 90 days.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class RunOutcome(str, enum.Enum):
    RUNNING = "running"  # started, not finished (a stopped worker's run is closed as failed)
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"  # another worker held the job's lease

    @property
    def label(self) -> str:
        return {"running": "Running", "ok": "Succeeded", "failed": "Failed", "skipped": "Skipped"}[self.value]


class JobLease(db.Model):
    """The one row per job that a run claims before it works."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    held_by: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class JobRun(db.Model):
    """One run of one job: when, by which process, and how it ended."""

    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[RunOutcome] = mapped_column(enum_column(RunOutcome, "job_run_outcome"), nullable=False, default=RunOutcome.RUNNING)
    summary: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    pid: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    # "schedule", "command" (flask jobs run) or "admin" (Run now).
    trigger: Mapped[str] = mapped_column(String(20), nullable=False, default="schedule")

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class SentReminder(db.Model):
    """A reminder that has gone: (what kind, about what) once. ``about`` is an id or a day."""

    __tablename__ = "sent_reminders"

    kind: Mapped[str] = mapped_column(String(40), primary_key=True)
    about: Mapped[str] = mapped_column(String(40), primary_key=True)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
