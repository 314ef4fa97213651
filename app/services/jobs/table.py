"""Every scheduled job, one row each: its name, what people call it, when it runs, the
function that does the work (an import path, so a row needs no import here), how long its
lease lasts and what it does in a sentence.

Each function takes ``now=`` (an aware UTC datetime) and returns a short summary: a string,
a count, or anything ``summarise`` can put in a sentence. Each is idempotent and safe to
run twice at once, so a run after a crash, or on two workers, finishes the work without
doing any of it twice. A lease is about twice the longest run expected: a worker stopped
mid-job holds the job no longer than that.

To add a job: add a row. The worker, ``flask jobs``, the admin page and the README's list
read this table.
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from dataclasses import dataclass

from app.services.errors import NotFound
from app.services.jobs.schedules import Schedule, daily, every_minute, every_n_minutes, hourly, weekdays


@dataclass(frozen=True)
class Job:
    name: str
    label: str
    schedule: Schedule
    target: str  # "package.module.function"
    lease: dt.timedelta
    about: str


def _minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


WORK = "app.services.jobs.work"

JOBS: tuple[Job, ...] = (
    Job(
        "send-email",
        "Send queued email",
        every_minute(),
        f"{WORK}.send_email",
        _minutes(10),
        "Sends the emails waiting in the outbox and retries those that failed.",
    ),
    Job(
        "search-drain",
        "Take changes into search",
        every_minute(),
        f"{WORK}.drain_search",
        _minutes(10),
        "Takes queued listing changes into the search index (normally taken in at once; this is the safety net).",
    ),
    Job(
        "card-payments",
        "Finish card payments",
        every_n_minutes(10),
        f"{WORK}.finish_card_payments",
        _minutes(30),
        "Finishes card payments and refunds left unfinished by a crash or by Stripe being unreachable.",
    ),
    Job(
        "publish-reviews",
        "Publish reviews",
        hourly(5),
        f"{WORK}.publish_reviews",
        _minutes(30),
        "Publishes reviews whose 7 days are up into search and the framework ranking, then checks every service's totals.",
    ),
    Job(
        "unrecorded-visits",
        "Remind providers of unrecorded visits",
        hourly(20),
        f"{WORK}.remind_unrecorded_visits",
        _minutes(30),
        "Tells each provider, once per visit, about visits still not recorded 48 hours after they were due.",
    ),
    Job(
        "expire-requests",
        "Expire unanswered booking requests",
        hourly(35),
        f"{WORK}.expire_requests",
        _minutes(30),
        "Ends booking requests a provider has not accepted or declined in the council's time (48 hours unless changed), "
        "releasing the money set aside and telling both sides.",
    ),
    Job(
        "fund-budgets",
        "Fund personal budgets",
        daily(5, 0),
        f"{WORK}.fund_budgets",
        _minutes(120),
        "Credits every active personal budget for the 4-week period it is in (a budget already funded for it is left alone).",
    ),
    Job(
        "prepare-payment-run",
        "Prepare the payment run",
        daily(6, 0),
        f"{WORK}.prepare_payment_run",
        _minutes(60),
        "Prepares the run paying providers for the payment period that has just ended, for a second person to approve.",
    ),
    Job(
        "checks-waiting",
        "Remind commissioners of checks waiting",
        weekdays(8, 0),
        f"{WORK}.remind_checks_waiting",
        _minutes(15),
        "Tells commissioners, once a day, how many providers and bank detail changes are waiting to be checked.",
    ),
)

BY_NAME: dict[str, Job] = {job.name: job for job in JOBS}


def get(name: str) -> Job:
    try:
        return BY_NAME[name]
    except KeyError:
        raise NotFound(f"There is no job called {name!r}") from None


def resolve(job: Job) -> Callable[..., object]:
    """The function a row names, imported when it first runs."""
    module_name, _, function_name = job.target.rpartition(".")
    return getattr(importlib.import_module(module_name), function_name)
