"""Property-based: whatever sequence of funding, booking, accepting, declining,
cancelling and delivering happens, every ledger invariant holds and every budget's
available + held + spent equals what it was funded."""

from __future__ import annotations

import datetime as dt
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.extensions import db
from app.models import BookingSchedule, PersonalBudget, Role
from app.services import bookings, budgets, ledger_check
from app.services.errors import DomainError
from app.services.ledger import Actor
from tests.services.money_helpers import funded_period, request_for, today

book = st.tuples(
    st.just("book"),
    st.integers(min_value=-2, max_value=70),  # days ahead (some in the past, some unfunded)
    st.integers(min_value=0, max_value=4),  # units (0 is invalid)
    st.sampled_from(["one_off", "weekly"]),
    st.sampled_from(["09:00", "10:00", "10:15", "21:00"]),  # 21:00 is outside the hours
)
pick = st.integers(min_value=0, max_value=12)
operation = st.one_of(
    book,
    st.tuples(st.just("accept"), pick),
    st.tuples(st.just("decline"), pick),
    st.tuples(st.just("cancel"), pick, st.booleans()),
    st.tuples(st.just("deliver"), pick, st.integers(min_value=0, max_value=4)),
    st.tuples(st.just("fund"), st.integers(min_value=0, max_value=3)),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=14), amount=st.integers(min_value=500, max_value=20_000))
def test_any_sequence_keeps_the_books_straight(app, make_budget, make_service, make_user, policy, operations, amount):
    budget = make_budget(amount=amount)
    service = make_service(price_pence=1_250, capacity=2, hours=[(d, "08:00", "20:00") for d in range(7)])
    staff = make_user(Role.PROVIDER)
    citizen = budget.citizen
    made: list = []
    start, _ = funded_period(policy)

    for op in operations:
        try:
            if op[0] == "book":
                _, days, units, schedule, at = op
                day = today() + dt.timedelta(days=days)
                weekly = schedule == "weekly"
                request = request_for(
                    service,
                    db.session.get(PersonalBudget, budget.id),
                    day=day,
                    at=at,
                    units=units,
                    key=uuid.uuid4().hex,
                    schedule=BookingSchedule.WEEKLY if weekly else BookingSchedule.ONE_OFF,
                    weekdays=(day.weekday(),) if weekly else (),
                    weeks=3 if weekly else 1,
                )
                made.append(bookings.create(request, citizen=citizen, booker=citizen, policy=policy))
            elif op[0] == "fund":
                budgets.fund_budget(budget, start + dt.timedelta(days=28 * op[1]), policy=policy, actor=Actor.system("test"))
            elif made:
                booking = bookings.get_booking(made[op[1] % len(made)].public_id)
                if op[0] == "accept":
                    bookings.accept(booking, by=staff)
                elif op[0] == "decline":
                    bookings.decline(booking, by=staff, reason="Cannot cover it")
                elif op[0] == "cancel":
                    upcoming = [v for v in booking.visits if v.status.is_upcoming]
                    now = upcoming[0].starts_at - dt.timedelta(hours=2) if (op[2] and upcoming) else None
                    bookings.cancel(booking, by=citizen, policy=policy, now=now)
                elif op[0] == "deliver":
                    for visit in booking.visits:
                        if visit.status.is_upcoming:
                            bookings.record_delivery(
                                visit, by=staff, delivered_units=op[2] or None, now=visit.starts_at + dt.timedelta(hours=1)
                            )
                            break
        except DomainError:
            db.session.rollback()  # a refused step must leave everything as it was

        db.session.rollback()
        assert ledger_check.check() == []
        figures = budgets.summary(db.session.get(PersonalBudget, budget.id))
        assert figures.balances, figures
        assert figures.available_pence >= 0 and figures.held_pence >= 0
