"""What each scheduled job does: one function per job, each calling the same service the
matching ``flask`` command calls and returning a sentence for the run's record. A job that
finds something wrong raises JobProblem (the run is recorded as failed, with the reason).

Why each is safe to run again, or on two workers at once, is said once per function.
"""

from __future__ import annotations

import datetime as dt

from app.services import bookings, budgets, card_payments, checks_waiting, delivery, mail, payment_runs, reviews, search
from app.services.ledger import Actor
from app.services.policy import current_policy
from app.uk_time import uk_today


class JobProblem(Exception):
    """The job ran but what it found needs a person (the message says what)."""


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def send_email(*, now: dt.datetime) -> str:
    """`flask mail send`: each email is claimed by one sender before it goes, and emails
    left half-sent by a stopped worker are put back after 15 minutes."""

    recovered = mail.recover_stuck()
    report = mail.deliver_pending(limit=200, now=now)
    text = f"Sent {len(report.sent)}, will retry {len(report.failed)}, gave up on {len(report.gave_up)}"
    return text + (f"; put back {_plural(recovered, 'email')} left half-sent" if recovered else "")


def drain_search(*, now: dt.datetime) -> str:
    """`flask search drain`: one writer at a time holds the index lock; another finds it
    busy and leaves the changes to the one writing."""

    report = search.drain(wait=0.0)
    if report.state == "missing":
        raise JobProblem("There is no search index: run `flask search rebuild`.")
    if report.state == "busy":
        return "Another process is writing the index: it takes the changes in"
    if report.state == "unregistered":  # silent for a week, or built before the change log
        rebuilt = search.rebuild()
        return f"The index had stopped reading the change log: rebuilt it ({_plural(rebuilt.documents, 'service')})"
    return f"Took in {_plural(report.entries, 'queued change')} ({_plural(report.documents, 'service')} rewritten)"


def finish_card_payments(*, now: dt.datetime) -> str:
    """`flask payments retry`: every card step is keyed and leased per booking, so running
    it twice settles each payment once."""

    if not card_payments.is_configured():
        return "Card payments are not configured: nothing to do"
    return f"Checked {_plural(card_payments.retry_unfinished(), 'card booking')}"


def publish_reviews(*, now: dt.datetime) -> str:
    """`flask reviews publish`: each review is counted once, by one conditional update,
    however many runs there are."""

    counted = reviews.publish_due(now=now)
    wrong = reviews.totals_differ()
    if wrong:
        raise JobProblem(f"Published {counted}; {_plural(len(wrong), 'service')}' review totals do not match their reviews")
    return f"Published {_plural(counted, 'review')} into search and ranking; every service's totals match its reviews"


def remind_unrecorded_visits(*, now: dt.datetime) -> str:
    """Each visit's reminder is remembered with the messages, in one unit of work."""

    return f"Told providers of {_plural(delivery.remind_unrecorded(now=now), 'visit')} not recorded after 48 hours"


def expire_requests(*, now: dt.datetime) -> str:
    """`flask bookings expire`: each booking is expired in its own unit of work by one
    conditional update of its status, so of two runs (or a run and the provider accepting)
    exactly one changes it, and its money is released once."""

    return f"Expired {_plural(bookings.expire_unanswered(now), 'booking request')} nobody answered in time"


def fund_budgets(*, now: dt.datetime) -> str:
    """`flask budgets fund` for the period today is in: a budget already funded for a
    period is never funded again (one period row per budget and period)."""

    policy = current_policy()
    start, end = policy.period_containing(uk_today(now))
    run = budgets.fund_all(start, policy=policy, actor=Actor.system("scheduled job fund-budgets"))
    return (
        f"Period {start.isoformat()} to {(end - dt.timedelta(days=1)).isoformat()}: funded {_plural(len(run.funded), 'budget')}, "
        f"{run.already_funded} already funded, {run.not_active} not active"
    )


def prepare_payment_run(*, now: dt.datetime) -> str:
    """`flask payment-runs prepare` for the newest period that has ended: preparing a
    period twice finds its run; a period with any run (even a cancelled one) is left."""

    run, last_day = payment_runs.prepare_latest(now=now)
    if run is None:
        return f"The period ending {last_day.isoformat()} already has a run"
    return f"Prepared run {run.id} for the period ending {last_day.isoformat()}: {run.visit_count} visits, waiting for approval"


def remind_checks_waiting(*, now: dt.datetime) -> str:
    """Once a UK day at most: the day's reminder is remembered with the messages."""

    told = checks_waiting.remind_checks_waiting(now=now)
    return f"Reminded {_plural(told, 'commissioner')}" if told else "Nothing waiting, or already reminded today"
