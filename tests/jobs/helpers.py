"""Helpers for the scheduled jobs' tests."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import JobRun, OutboundEmail


def runs_of(name: str) -> list[JobRun]:
    db.session.expire_all()
    return list(db.session.execute(select(JobRun).where(JobRun.job == name).order_by(JobRun.id)).scalars())


def emails_to(address: str, subject_starts: str = "") -> list[OutboundEmail]:
    db.session.expire_all()
    rows = db.session.execute(select(OutboundEmail).where(OutboundEmail.to_address == address).order_by(OutboundEmail.id)).scalars()
    return [row for row in rows if row.subject.startswith(subject_starts)]
