"""Demo personal budgets with history, made through the same services people use.

citizen@demo.test (Margaret Holloway) gets a council-managed budget that started three
4-week periods ago: each period was funded, a weekly home care booking was made,
accepted and delivered (one visit cancelled in good time), and this period she has
upcoming visits set aside and one request still waiting for the provider.
isf@demo.test (Joan Baxter) has an Individual Service Fund held with another provider.

The history is made by calling the booking and budget services "as of" past moments, so
the ledger carries real business dates and the statements read as they would have.
Loaded once: if Margaret already has a budget, nothing happens.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.database import write_transaction
from app.extensions import db
from app.models import (
    Booking,
    BookingSchedule,
    BudgetType,
    Notification,
    PersonalBudget,
    PriceUnit,
    Provider,
    ProviderStaff,
    Service,
    ServiceStatus,
    User,
)
from app.services import bookings, budgets
from app.services.demo.report import LoadReport
from app.services.ledger import Actor
from app.services.policy import current_policy
from app.uk_time import UK

HISTORY_PERIODS = 3


def _user(email: str) -> User | None:
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def bookable_service(provider: Provider) -> Service | None:
    """The provider's first published hourly service, paid from budgets, open in the morning."""
    services = (
        db.session.execute(
            select(Service)
            .where(Service.provider_id == provider.id, Service.status == ServiceStatus.PUBLISHED, Service.accepts_personal_budget.is_(True))
            .order_by(Service.id)
        )
        .scalars()
        .all()
    )
    hourly = [
        s
        for s in services
        if s.price_unit is PriceUnit.HOUR and any(h.opens_at <= dt.time(9) and h.closes_at >= dt.time(12) for h in s.hours)
    ]
    return (hourly or [None])[0]


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UK).astimezone(dt.UTC)


def _request(
    service: Service,
    budget: PersonalBudget,
    key: str,
    first: dt.date,
    *,
    weeks: int = 1,
    units: int = 2,
    at: dt.time = dt.time(9),
    outcome=None,
    message: str = "",
) -> bookings.BookingRequest:
    weekly = weeks > 1
    return bookings.BookingRequest(
        service_id=service.id,
        request_key=key,
        schedule=BookingSchedule.WEEKLY if weekly else BookingSchedule.ONE_OFF,
        first_date=first,
        start_time=at,
        units=units,
        weekdays=(first.weekday(),) if weekly else (),
        weeks=weeks,
        budget_public_id=budget.public_id,
        outcome_id=outcome.id if outcome else None,
        message=message,
    )


def load_money(report: LoadReport) -> None:
    """Personal budgets with several periods of history"""
    citizen, isf_citizen = _user("citizen@demo.test"), _user("isf@demo.test")
    owner, commissioner = _user("provider@demo.test"), _user("commissioner@demo.test")
    if citizen is None or owner is None:
        return
    if db.session.execute(select(PersonalBudget.id).where(PersonalBudget.citizen_id == citizen.id)).first():
        return  # already loaded
    staff = db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == owner.id)).scalar_one_or_none()
    if staff is None:
        return
    provider = staff.provider
    service = bookable_service(provider)
    if service is None:
        return
    db.session.commit()

    policy = current_policy()
    today = dt.datetime.now(UK).date()
    current, _ = policy.period_containing(today)
    first = current - dt.timedelta(days=28 * HISTORY_PERIODS)
    system = Actor.system("demo load")

    budget = budgets.create_budget(
        citizen=citizen,
        budget_type=BudgetType.MANAGED_ACCOUNT,
        amount_per_period_pence=42_000,
        starts_on=first,
        outcomes=["Get up, washed and dressed each morning", "Get out to the shops and see friends", "Stay safe and well at home"],
        created_by=commissioner,
        policy=policy,
        today=first,
    )
    report.add("personal budgets")

    for n in range(HISTORY_PERIODS):
        _past_period(n, first + dt.timedelta(days=28 * n), budget, service, citizen, owner, policy, system)
        report.add("bookings")
    _this_period(current, today, budget, service, citizen, owner, policy, system)
    report.add("bookings", 2)

    if isf_citizen is not None:
        _load_isf(isf_citizen, commissioner, owner, provider, service, policy, current, report)
    _file_away_past_notices()


def _past_period(n: int, start: dt.date, budget, service: Service, citizen: User, owner: User, policy, system: Actor) -> None:
    """One past period: funded, a weekly booking accepted and delivered (one visit cancelled
    in time in the second period, one delivered short in the third)."""
    budgets.fund_budget(budget, start, policy=policy, actor=system)
    booked_at = _at(start + dt.timedelta(days=1), 10)
    visits_from = start + dt.timedelta(days=2)
    booking = bookings.create(
        _request(
            service,
            budget,
            f"demo-history-{n}",
            visits_from,
            weeks=3,
            outcome=budget.outcomes[0],
            message="Please use the key safe; the code is with Susan.",
        ),
        citizen=citizen,
        booker=citizen,
        policy=policy,
        now=booked_at,
    )
    bookings.accept(booking, by=owner, now=booked_at + dt.timedelta(hours=3))
    booking = bookings.get_booking(booking.public_id)
    for index, visit in enumerate(list(booking.visits)):
        if n == 1 and index == 1:
            # Cancelled a few days ahead: free, and the money goes back to the budget.
            bookings.cancel(booking, by=citizen, policy=policy, visit_ids=[visit.id], now=visit.starts_at - dt.timedelta(days=3))
        else:
            units = 1 if (n == 2 and index == 0) else None  # one shorter visit: part captured, rest released
            bookings.record_delivery(visit, by=owner, delivered_units=units, now=visit.starts_at + dt.timedelta(hours=2, minutes=5))
        booking = bookings.get_booking(booking.public_id)


def _this_period(current: dt.date, today: dt.date, budget, service: Service, citizen: User, owner: User, policy, system: Actor) -> None:
    """This period: funded, a weekly booking with visits to come (some in the next period),
    and a one-off request the provider has not answered yet."""
    budgets.fund_budget(budget, current, policy=policy, actor=system)
    upcoming = bookings.create(
        _request(service, budget, "demo-upcoming", today + dt.timedelta(days=1), weeks=6, outcome=budget.outcomes[0]),
        citizen=citizen,
        booker=citizen,
        policy=policy,
    )
    bookings.accept(upcoming, by=owner)
    representative = _user("representative@demo.test")
    bookings.create(
        _request(
            service,
            budget,
            "demo-request",
            today + dt.timedelta(days=3),
            units=3,
            at=dt.time(13),
            outcome=budget.outcomes[1],
            message="An afternoon trip to the shops, please.",
        ),
        citizen=citizen,
        booker=representative or citizen,
        policy=policy,
    )


def _load_isf(
    citizen: User, commissioner: User | None, owner: User, provider: Provider, service: Service, policy, current: dt.date, report
) -> None:
    """Joan's Individual Service Fund, held with the demo provider since last period."""
    start = current - dt.timedelta(days=28)
    budget = budgets.create_budget(
        citizen=citizen,
        budget_type=BudgetType.ISF,
        amount_per_period_pence=30_000,
        starts_on=start,
        outcomes=["Keep living in my own flat", "Have company at lunchtime"],
        created_by=commissioner,
        policy=policy,
        isf_provider=provider,
        today=start,
    )
    booked_at = _at(start + dt.timedelta(days=1), 11)
    booking = bookings.create(
        _request(service, budget, "demo-isf-history", start + dt.timedelta(days=3), weeks=2, units=1, at=dt.time(11)),
        citizen=citizen,
        booker=citizen,
        policy=policy,
        now=booked_at,
    )
    bookings.accept(booking, by=owner, now=booked_at + dt.timedelta(hours=1))
    for visit in list(bookings.get_booking(booking.public_id).visits):
        bookings.record_delivery(visit, by=owner, now=visit.starts_at + dt.timedelta(hours=1, minutes=10))
    budgets.fund_budget(budget, current, policy=policy, actor=Actor.system("demo load"))
    report.add("personal budgets")
    report.add("bookings")


def _file_away_past_notices() -> None:
    """Notices about bookings that are over were read long ago: dated when their booking last
    changed and marked read, so a new demo session starts with only today's news unread."""
    with write_transaction():
        for booking in db.session.execute(select(Booking)).scalars():
            if any(v.status.is_upcoming for v in booking.visits) or not booking.events:
                continue
            when = booking.events[-1].at
            links = (f"/bookings/{booking.public_id}", f"/provider/bookings/{booking.public_id}")
            db.session.execute(update(Notification).where(Notification.link.in_(links)).values(created_at=when, read_at=when))


# Each service call above is its own unit of work, so the loader must not wrap this step.
load_money.manages_transactions = True
