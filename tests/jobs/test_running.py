"""Running a job: one of several workers wins the lease, a stopped worker's lease runs
out and the next run finishes the work, every run is recorded (and kept 90 days), and a
job failing 3 times in a row is tagged and tells the admins once."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from app.extensions import db
from app.models import JobLease, JobRun, RunOutcome
from app.services import jobs, mail
from app.services.jobs import leases, records, work
from tests.helpers import at_once
from tests.jobs.helpers import emails_to, runs_of

NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)


def test_of_eight_workers_claiming_a_job_at_once_one_gets_it(app):
    holders = [f"host:{i}:token" for i in range(8)]
    claimed = at_once(app, 8, lambda i: leases.claim("send-email", holders[i], now=NOW, until=NOW + dt.timedelta(minutes=5)))
    assert sorted(map(repr, claimed)) == ["False"] * 7 + ["True"]
    lease = db.session.get(JobLease, "send-email")
    assert lease.held_by == holders[claimed.index(True)]

    # Once the lease is there, eight claims at once again: still one.
    db.session.execute(JobLease.__table__.update().values(lease_until=None, held_by=None))
    db.session.commit()
    again = at_once(app, 8, lambda i: leases.claim("send-email", holders[i], now=NOW, until=NOW + dt.timedelta(minutes=5)))
    assert again.count(True) == 1 and again.count(False) == 7


def test_four_workers_running_a_job_at_once_run_it_once_and_the_others_skip(app, monkeypatch):
    calls = []

    def slow_send(*, now):
        calls.append(now)
        time.sleep(0.5)  # the others ask while this one works
        return "Sent 1"

    monkeypatch.setattr(work, "send_email", slow_send)
    results = at_once(app, 4, lambda i: jobs.run("send-email", now=NOW).outcome)
    assert sorted(r.value for r in results) == ["ok", "skipped", "skipped", "skipped"]
    assert len(calls) == 1
    assert [r.outcome for r in runs_of("send-email")].count(RunOutcome.SKIPPED) == 3
    assert db.session.get(JobLease, "send-email").lease_until is None  # given back


def test_a_job_held_by_a_stopped_worker_runs_again_once_its_lease_runs_out(app):
    """A worker killed mid-job leaves its lease and its run open: until the lease runs out
    nobody runs the job; then the next run closes the stopped run as failed and does the work."""
    now = dt.datetime.now(dt.UTC)
    mail.queue("someone@example.test", "Waiting", "Body")
    db.session.add(JobLease(name="send-email", held_by="gone-host:999:dead", lease_until=now + dt.timedelta(minutes=10)))
    db.session.add(JobRun(job="send-email", started_at=now, outcome=RunOutcome.RUNNING, host="gone-host", pid=999, summary=""))
    db.session.commit()

    early = jobs.run("send-email", now=now + dt.timedelta(minutes=5))
    assert early.outcome is RunOutcome.SKIPPED
    assert emails_to("someone@example.test")[0].status.value == "queued"

    later = jobs.run("send-email", now=now + dt.timedelta(minutes=11))
    assert later.outcome is RunOutcome.OK
    assert emails_to("someone@example.test")[0].status.value == "sent"
    stopped = runs_of("send-email")[0]
    assert stopped.outcome is RunOutcome.FAILED and stopped.error == records.STOPPED


def test_every_run_is_recorded_and_runs_older_than_90_days_are_deleted(app):
    old = JobRun(job="send-email", started_at=NOW - dt.timedelta(days=91), outcome=RunOutcome.OK, summary="old", host="h", pid=1)
    kept = JobRun(job="send-email", started_at=NOW - dt.timedelta(days=89), outcome=RunOutcome.OK, summary="kept", host="h", pid=1)
    other = JobRun(job="fund-budgets", started_at=NOW - dt.timedelta(days=200), outcome=RunOutcome.OK, summary="x", host="h", pid=1)
    db.session.add_all([old, kept, other])
    db.session.commit()

    run = jobs.run("send-email", trigger="command", now=NOW)

    assert run.outcome is RunOutcome.OK
    assert run.summary == "Sent 0, will retry 0, gave up on 0"
    assert run.started_at == NOW and run.finished_at >= NOW
    assert run.trigger == "command" and run.pid > 0 and run.host
    assert [r.summary for r in runs_of("send-email")] == ["kept", run.summary]
    assert len(runs_of("fund-budgets")) == 1  # each job prunes its own runs


def test_a_job_that_raises_is_recorded_as_failed_with_its_error(app, monkeypatch):
    def broken(*, now):
        raise ZeroDivisionError("division by zero in the reviews")

    monkeypatch.setattr(work, "publish_reviews", broken)
    run = jobs.run("publish-reviews", now=NOW)
    assert run.outcome is RunOutcome.FAILED
    assert run.summary == "ZeroDivisionError: division by zero in the reviews"
    assert "Traceback" in run.error
    assert db.session.get(JobLease, "publish-reviews").lease_until is None


def test_three_failures_in_a_row_tag_the_job_and_email_the_admins_once(app, monkeypatch, make_admin):
    admin, other_admin = make_admin(), make_admin()
    gone = make_admin(active=False)
    outcome = {"fail": True}

    def flaky(*, now):
        if outcome["fail"]:
            raise work.JobProblem("The reviews are in a muddle")
        return "Published 0 reviews"

    monkeypatch.setattr(work, "publish_reviews", flaky)

    def run_at(hour):
        return jobs.run("publish-reviews", now=NOW + dt.timedelta(hours=hour))

    subject = "Scheduled job failing: Publish reviews"
    run_at(0), run_at(1)
    assert not jobs.status_of(jobs.get("publish-reviews"), NOW).failing
    assert emails_to(admin.email, subject) == []
    run_at(2)
    assert jobs.status_of(jobs.get("publish-reviews"), NOW + dt.timedelta(hours=3)).failing
    run_at(3), run_at(4)  # failing on: nobody told again
    assert len(emails_to(admin.email, subject)) == 1
    assert len(emails_to(other_admin.email, subject)) == 1
    assert emails_to(gone.email, subject) == []
    assert "The reviews are in a muddle" in emails_to(admin.email, subject)[0].body_text

    outcome["fail"] = False
    run_at(5)
    assert not jobs.status_of(jobs.get("publish-reviews"), NOW + dt.timedelta(hours=6)).failing
    outcome["fail"] = True
    run_at(6), run_at(7)
    assert len(emails_to(admin.email, subject)) == 1
    run_at(8)  # failing again after recovering: told again, once
    assert len(emails_to(admin.email, subject)) == 2


def test_a_job_that_does_not_exist_is_not_found(app):
    from app.services.errors import NotFound

    with pytest.raises(NotFound):
        jobs.run("no-such-job")
