"""The scheduled jobs page: every job with its schedule, last run and next run, a Failing
tag after 3 failures in a row, and Run now (admins only, audited, through the lease)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, JobRun, RunOutcome
from app.services import jobs, mail
from app.services.jobs import work
from tests.helpers import csrf_token, page, visible_text


def _rows(response) -> dict[str, str]:
    """Each job's row text, by its label."""
    rows = {}
    for row in page(response).select("table tbody tr"):
        cells = row.select("td, th")
        rows[cells[0].select_one("span").get_text(strip=True)] = " ".join(c.get_text(" ", strip=True) for c in cells)
    return rows


def test_admins_see_every_job_with_its_last_and_next_run(app, client, make_admin, login):
    mail.queue("someone@example.test", "Hello", "Body")
    db.session.commit()
    jobs.run("send-email")
    login(client, make_admin())

    response = client.get("/admin/jobs")

    assert response.status_code == 200
    rows = _rows(response)
    assert list(rows) == [job.label for job in jobs.JOBS]
    assert "Every minute" in rows["Send queued email"] and "Succeeded" in rows["Send queued email"]
    assert "Sent 1, will retry 0" in rows["Send queued email"]
    assert "Not run yet" in rows["Fund personal budgets"] and "Every day at 05:00" in rows["Fund personal budgets"]
    assert not any("Failing" in row for row in rows.values())
    assert "Scheduled jobs" in [a.get_text(strip=True) for a in page(response).select("nav.app-section-nav a")]


def test_a_job_failing_three_times_in_a_row_is_tagged_failing(app, client, make_admin, login, monkeypatch):
    def broken(*, now):
        raise work.JobProblem("Totals do not match")

    monkeypatch.setattr(work, "publish_reviews", broken)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(hours=4)
    for hour in range(3):
        jobs.run("publish-reviews", now=start + dt.timedelta(hours=hour))
    login(client, make_admin())

    rows = _rows(client.get("/admin/jobs"))

    assert "Failing" in rows["Publish reviews"] and "Totals do not match" in rows["Publish reviews"]
    assert "Failing" not in rows["Send queued email"]


def test_run_now_runs_the_job_and_is_audited(app, client, make_admin, login):
    admin = make_admin()
    login(client, admin)
    token = csrf_token(client, "/admin/jobs")

    response = client.post("/admin/jobs/publish-reviews/run", data={"csrf_token": token}, follow_redirects=True)

    assert response.status_code == 200 and "handed to the worker" in visible_text(response)
    run = db.session.execute(select(JobRun).where(JobRun.job == "publish-reviews")).scalar_one()
    assert run.trigger == "admin" and run.outcome is RunOutcome.OK
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "job.run_requested")).scalar_one()
    assert event.actor_id == admin.id and event.target_id == "publish-reviews"


def test_run_now_for_a_job_that_does_not_exist_is_not_found_and_needs_its_csrf_token(app, client, make_admin, login):
    login(client, make_admin())
    token = csrf_token(client, "/admin/jobs")
    assert client.post("/admin/jobs/no-such-job/run", data={"csrf_token": token}).status_code == 404
    assert client.post("/admin/jobs/send-email/run", data={}).status_code in (400, 302)
    assert db.session.execute(select(JobRun)).first() is None


def test_commissioners_cannot_see_or_run_jobs(app, client, make_commissioner, login):
    login(client, make_commissioner())
    assert client.get("/admin/jobs").status_code == 404
    assert client.post("/admin/jobs/send-email/run", data={"csrf_token": csrf_token(client, "/commissioner")}).status_code == 404
    assert db.session.execute(select(JobRun)).first() is None
