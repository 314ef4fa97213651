"""Today in the demo, refreshed on every load: the current 4-week period paid into every
budget (as the council's funding run would), and visits for provider@demo.test starting
around now (one that has just started, one within the hour), so recording a visit as
delivered can be tried as soon as the demo starts, whatever day that is."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Booking, BookingSchedule, BookingStatus, BookingVisit, BudgetStatus, BudgetType, PersonalBudget, User, VisitStatus
from app.services import bookings, budgets
from app.services.demo.money import bookable_service
from app.services.demo.report import LoadReport
from app.services.errors import DomainError
from app.services.ledger import Actor
from app.services.policy import current_policy
from app.uk_time import UK, uk_today

WINDOW = dt.timedelta(hours=1)
QUARTER = 15  # minutes: visits start on the quarter hour


def load_today(report: LoadReport) -> None:
    """This period paid in, and visits starting around now for provider@demo.test"""
    policy = current_policy()
    period_start, _ = policy.period_containing(uk_today())
    run = budgets.fund_all(period_start, policy=policy, actor=Actor.system("demo load"))
    if run.funded:
        report.add("budgets funded for this period", len(run.funded))
    owner = db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one_or_none()
    joan = db.session.execute(select(User).where(User.email == "isf@demo.test")).scalar_one_or_none()
    budget = _isf_of(joan) if joan is not None else None
    if owner is None or budget is None or budget.isf_provider is None:
        return
    service = bookable_service(budget.isf_provider)
    now = utcnow()
    if service is None or _visits_around(service, now):
        return
    for asked_at in (now - dt.timedelta(minutes=20), now):
        if _book_and_accept(joan, owner, budget, service, asked_at, policy):
            report.add("visits today")


def _isf_of(citizen: User) -> PersonalBudget | None:
    return (
        db.session.execute(
            select(PersonalBudget)
            .where(
                PersonalBudget.citizen_id == citizen.id,
                PersonalBudget.budget_type == BudgetType.ISF,
                PersonalBudget.status == BudgetStatus.ACTIVE,
            )
            .order_by(PersonalBudget.id)
        )
        .scalars()
        .first()
    )


def _visits_around(service, now: dt.datetime) -> bool:
    """Whether the service already has a visit going ahead within an hour either side of now."""
    found = db.session.execute(
        select(BookingVisit.id)
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .where(
            Booking.service_id == service.id,
            BookingVisit.status.in_([VisitStatus.HELD, VisitStatus.SCHEDULED]),
            BookingVisit.starts_at > now - WINDOW,
            BookingVisit.starts_at < now + WINDOW,
        )
    ).first()
    return found is not None


def _book_and_accept(citizen: User, owner: User, budget: PersonalBudget, service, asked_at: dt.datetime, policy) -> bool:
    """A one-hour visit at the first quarter hour after ``asked_at``, booked then and accepted
    a minute later. False when the service is not running then (at night, say)."""
    local = asked_at.astimezone(UK)
    starts = (local + dt.timedelta(minutes=QUARTER - local.minute % QUARTER)).replace(second=0, microsecond=0)
    request = bookings.BookingRequest(
        service_id=service.id,
        request_key=f"demo-today-{starts:%Y%m%d%H%M}",
        schedule=BookingSchedule.ONE_OFF,
        first_date=starts.date(),
        start_time=starts.time(),
        units=1,
        budget_public_id=budget.public_id,
        message="Today's visit, booked when the demo started.",
    )
    try:
        booking = bookings.create(request, citizen=citizen, booker=citizen, policy=policy, now=asked_at)
        if booking.status is BookingStatus.REQUESTED:
            bookings.accept(booking, by=owner, now=asked_at + dt.timedelta(minutes=1))
    except DomainError:
        db.session.rollback()
        return False
    return True


# Each service call above is its own unit of work, so the loader must not wrap this step.
load_today.manages_transactions = True
