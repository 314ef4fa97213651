"""An admin asking for a job to run now: audited, then handed to the worker (which runs
it through the same lease as the schedule, so it never runs twice at once)."""

from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.models import User
from app.services import audit
from app.services.jobs import queue
from app.services.jobs.table import Job, get


def request_run(actor: User, name: str) -> Job:
    job = get(name)
    audit.record(actor, "job.run_requested", "job", job.name, note=job.label)
    db.session.commit()
    queue.enqueue(current_app._get_current_object(), job.name, "admin")
    return job
