"""A job failing: shown as Failing once its last 3 runs failed, and the admins told then,
once. Whether to tell is read from the runs themselves (the third failure in a row after
a success, or after nothing), so no flag can be left set or lost: a job that recovers and
fails 3 times again tells them again, and a 4th failure in a row tells nobody."""

from __future__ import annotations

from app.models import JobRun, Role, RunOutcome
from app.services import accounts, notifications
from app.services.jobs.records import recent
from app.services.jobs.table import Job

IN_A_ROW = 3


def is_failing(runs: list[JobRun]) -> bool:
    """``runs``: the job's latest finished runs, newest first."""
    return len(runs) >= IN_A_ROW and all(run.outcome is RunOutcome.FAILED for run in runs[:IN_A_ROW])


def after_failure(job: Job, run: JobRun) -> bool:
    """Tell the admins if ``run`` is the job's third failure in a row; whether they were told.
    Joins the caller's unit of work."""
    runs = recent(job.name, IN_A_ROW + 1, finished_only=True)
    if not is_failing(runs) or (len(runs) > IN_A_ROW and runs[IN_A_ROW].outcome is RunOutcome.FAILED):
        return False
    body = (
        f"The scheduled job \u201c{job.label}\u201d has failed {IN_A_ROW} times in a row. "
        f"The last error: {run.summary}\n\n"
        f"It runs {job.schedule.words.lower()} and will keep trying; you will not be told again until it has "
        "succeeded and then failed 3 times in a row again."
    )
    for admin in accounts.active_council_users(Role.ADMIN):
        notifications.notify(admin, f"Scheduled job failing: {job.label}", body, link="/admin/jobs")
    return True
