"""Each job does its work through the real services, and running it again changes
nothing: email sent, budgets funded once a period, the payment run prepared once, a
provider told once per unrecorded visit, commissioners reminded once a day."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import (
    Booking,
    BookingSchedule,
    BookingStatus,
    EmailStatus,
    Notification,
    OrgRole,
    PaymentRun,
    ProviderStatus,
    Role,
    RunOutcome,
    SearchIndexReader,
)
from app.services import bookings, budgets, jobs, ledger_check, mail, search
from app.services.jobs.table import JOBS, resolve
from app.uk_time import local_midnight
from tests.jobs.helpers import emails_to
from tests.services.money_helpers import future_day, request_for
from tests.services.test_booking_expiry import request_waiting  # noqa: F401 - the fixture


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_every_job_names_a_function_that_exists_and_a_schedule_with_a_next_run(job):
    assert callable(resolve(job))
    assert job.schedule.next_after(dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)) is not None
    assert dt.timedelta(minutes=5) <= job.lease <= dt.timedelta(hours=4)


def test_the_email_job_sends_what_is_queued(app):
    mail.queue("someone@example.test", "Your booking", "Body")
    db.session.commit()
    run = jobs.run("send-email")
    assert run.outcome is RunOutcome.OK and run.summary.startswith("Sent 1,")
    assert emails_to("someone@example.test")[0].status is EmailStatus.SENT


def test_funding_funds_the_period_once_however_often_it_runs(app, make_budget, policy):
    budget = make_budget(amount=30_000)
    _, end = policy.period_containing(budget.starts_on)
    next_period_morning = local_midnight(end) + dt.timedelta(hours=5)

    first = jobs.run("fund-budgets", now=next_period_morning)
    again = jobs.run("fund-budgets", now=next_period_morning + dt.timedelta(days=1))

    assert first.outcome is RunOutcome.OK and "funded 1 budget," in first.summary
    assert again.outcome is RunOutcome.OK and "funded 0 budgets, 1 already funded" in again.summary
    assert ledger_check.check() == []


def test_the_payment_run_is_prepared_once_for_the_period_that_ended(app):
    first = jobs.run("prepare-payment-run")
    second = jobs.run("prepare-payment-run")
    assert first.outcome is RunOutcome.OK and first.summary.startswith("Prepared run")
    assert second.outcome is RunOutcome.OK and "already has a run" in second.summary
    assert db.session.execute(select(func.count(PaymentRun.id))).scalar_one() == 1


def test_a_cancelled_run_is_not_prepared_again_by_the_schedule(app, make_commissioner):
    from app.services import payment_runs

    jobs.run("prepare-payment-run")
    run = db.session.execute(select(PaymentRun)).scalar_one()
    payment_runs.cancel(run.id, by=make_commissioner(), reason="Prepared too early")
    again = jobs.run("prepare-payment-run")
    assert "already has a run" in again.summary
    assert db.session.execute(select(func.count(PaymentRun.id))).scalar_one() == 1


def test_providers_are_told_once_per_visit_not_recorded_after_48_hours(
    app, make_budget, make_service, make_provider_staff, make_user, policy
):
    service = make_service(price_pence=2_000, capacity=3)
    owner = make_provider_staff(service.provider, OrgRole.OWNER)
    staff = make_provider_staff(service.provider, OrgRole.STAFF)
    budget = make_budget(amount=20_000)
    day = future_day(policy, 3)
    booking = bookings.create(
        request_for(service, budget, day=day, schedule=BookingSchedule.WEEKLY, weekdays=(day.weekday(),), weeks=2),
        citizen=budget.citizen,
        booker=budget.citizen,
        policy=policy,
    )
    bookings.accept(booking, by=owner)
    first_visit = booking.visits[0].starts_at

    before = jobs.run("unrecorded-visits", now=first_visit + dt.timedelta(hours=47))
    after = jobs.run("unrecorded-visits", now=first_visit + dt.timedelta(hours=49))
    again = jobs.run("unrecorded-visits", now=first_visit + dt.timedelta(hours=50))

    assert "of 0 visits" in before.summary and "of 1 visit " in after.summary and "of 0 visits" in again.summary
    told = emails_to(owner.email, "Visits not recorded")
    assert len(told) == 1 and booking.reference in told[0].body_text
    assert emails_to(staff.email, "Visits not recorded") == []  # staff do not manage the visits


def test_commissioners_are_reminded_of_checks_waiting_once_a_day(app, make_provider, make_commissioner):
    commissioner = make_commissioner()
    make_provider(name="Waiting Care Ltd", status=ProviderStatus.PENDING)
    morning = dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)

    runs = [jobs.run("checks-waiting", now=morning + dt.timedelta(minutes=m)) for m in (0, 30)]
    next_day = jobs.run("checks-waiting", now=morning + dt.timedelta(days=1))

    assert [r.summary for r in runs] == ["Reminded 1 commissioner", "Nothing waiting, or already reminded today"]
    assert next_day.summary == "Reminded 1 commissioner"
    reminders = emails_to(commissioner.email, "Checks waiting")
    assert len(reminders) == 2 and "1 provider to verify" in reminders[0].body_text
    notified = db.session.execute(select(func.count(Notification.id)).where(Notification.user_id == commissioner.id)).scalar_one()
    assert notified == 2


def test_nothing_waiting_reminds_nobody(app, make_commissioner):
    commissioner = make_commissioner()
    assert jobs.run("checks-waiting").summary == "Nothing waiting, or already reminded today"
    assert emails_to(commissioner.email) == []


def test_the_search_job_fails_without_an_index_and_takes_changes_in_with_one(app, make_service):
    missing = jobs.run("search-drain")
    assert missing.outcome is RunOutcome.FAILED and "no search index" in missing.summary
    db.session.rollback()  # SQLite: the read above must not outlive the rebuild's own writes
    search.rebuild()
    make_service(title="Garden help")
    db.session.commit()
    assert jobs.run("search-drain").outcome is RunOutcome.OK


def test_card_payments_without_stripe_do_nothing(app):
    run = jobs.run("card-payments")
    assert run.outcome is RunOutcome.OK and run.summary == "Card payments are not configured: nothing to do"


def test_publishing_reviews_checks_the_totals(app):
    run = jobs.run("publish-reviews")
    assert run.outcome is RunOutcome.OK and run.summary.startswith("Published 0 reviews")


def test_no_role_but_admin_and_commissioner_is_asked_for(app):
    from app.services import accounts

    with pytest.raises(ValueError):
        accounts.active_council_users(Role.CITIZEN)


def test_the_expiry_job_ends_requests_nobody_answered_in_time_once(request_waiting):  # noqa: F811
    booking, budget, _ = request_waiting
    told = db.session.get(Booking, booking.id).requested_notified_at

    early = jobs.run("expire-requests", now=told + dt.timedelta(hours=47))
    due = jobs.run("expire-requests", now=told + dt.timedelta(hours=49))
    again = jobs.run("expire-requests", now=told + dt.timedelta(hours=50))

    assert early.outcome is RunOutcome.OK and early.summary.startswith("Expired 0 booking requests")
    assert due.outcome is RunOutcome.OK and due.summary.startswith("Expired 1 booking request ")
    assert again.summary.startswith("Expired 0 booking requests")
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status is BookingStatus.EXPIRED
    assert budgets.summary(budget).available_pence == 42_000
    assert ledger_check.check() == []


def test_an_index_that_stopped_reading_the_log_is_rebuilt_by_the_search_job(app, make_service):
    make_service(title="Garden help")
    search.rebuild()
    db.session.execute(delete(SearchIndexReader))  # dropped, as a host silent for a week is
    db.session.commit()
    assert search.drain().state == "unregistered"

    run = jobs.run("search-drain")

    assert run.outcome is RunOutcome.OK and "rebuilt it (1 service)" in run.summary
    assert search.drain().state == "done"
