"""Work that runs by itself: the scheduled jobs and the worker that runs them.

table      every job: name, label, schedule, the function that does it, its lease
schedules  crontabs read in UK time, in words, and when each next runs
work       what each job does (the same services as the flask commands)
leases     one lease row per job, claimed with one conditional update
records    every run recorded (kept 90 days)
running    one run: lease, record, work, outcome
alerts     failing 3 times in a row: tagged, and the admins told once
status     each job as the admin page shows it
queue      huey: the periodic tasks, "run now", the worker (`flask worker`)
run_now    an admin asking for a job now
"""

from app.services.facade import seal
from app.services.jobs.records import history
from app.services.jobs.run_now import request_run
from app.services.jobs.running import run
from app.services.jobs.status import JobStatus, status_of, statuses
from app.services.jobs.table import JOBS, Job, get

__all__ = ["JOBS", "Job", "JobStatus", "get", "history", "request_run", "run", "status_of", "statuses"]

seal(__name__)
