"""Booking a service and paying from a personal budget, at the service layer."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import (
    BookingSchedule,
    BookingStatus,
    HoldStatus,
    LedgerHold,
    PaymentMethod,
    PriceUnit,
    Role,
    VisitStatus,
)
from app.services import bookings, budgets, ledger, ledger_check
from app.services.bookings.planning import _bookable
from app.services.bookings.timing import OpenHours
from app.services.errors import Conflict, InvalidTransition, NotFound, ValidationError
from tests.services.money_helpers import funded_period, future_day, request_for, today


@pytest.fixture
def setup(make_budget, make_service, make_user, policy):
    budget = make_budget(amount=50_000)
    service = make_service(price_pence=2_000, capacity=3)
    staff = make_user(Role.PROVIDER)
    return budget, service, staff


def _book(request, budget, policy, booker=None):
    return bookings.create(request, citizen=budget.citizen, booker=booker or budget.citizen, policy=policy)


def test_a_one_off_booking_holds_the_money_at_once(setup, policy):
    budget, service, _ = setup
    booking = _book(request_for(service, budget, day=future_day(policy), units=2), budget, policy)
    assert booking.status is BookingStatus.REQUESTED
    assert booking.total_pence == 4_000 and booking.unit_price_pence == 2_000
    [visit] = booking.visits
    assert visit.status is VisitStatus.HELD and visit.amount_pence == 4_000
    figures = budgets.summary(budget)
    assert (figures.available_pence, figures.held_pence, figures.spent_pence) == (46_000, 4_000, 0)
    assert [e.kind for e in booking.events] == ["requested"]
    assert ledger_check.check() == []


def test_the_price_is_fixed_when_booking(setup, policy):
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy)), budget, policy)
    service.price_pence = 9_999
    db.session.commit()
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    assert budgets.summary(budget).spent_pence == 2_000


def test_a_weekly_booking_holds_this_period_and_commits_the_rest(setup, policy):
    budget, service, _ = setup
    day = future_day(policy, 1)
    request = request_for(service, budget, day=day, schedule=BookingSchedule.WEEKLY, weekdays=(day.weekday(),), weeks=8)
    booking = _book(request, budget, policy)
    _, period_end = funded_period(policy)
    held = [v for v in booking.visits if v.status is VisitStatus.HELD]
    later = [v for v in booking.visits if v.status is VisitStatus.SCHEDULED]
    assert len(booking.visits) == 8
    assert all(v.starts_at.date() < period_end for v in held)
    assert len(held) + len(later) == 8 and later
    figures = budgets.summary(budget)
    assert figures.held_pence == 2_000 * len(held)
    assert figures.booked_later_pence == 2_000 * len(later)


def test_retrying_the_same_request_makes_one_booking_and_one_hold(setup, policy):
    budget, service, _ = setup
    request = request_for(service, budget, day=future_day(policy), key="double-click-123")
    first = _book(request, budget, policy)
    second = _book(request, budget, policy)
    assert first.id == second.id
    assert db.session.query(LedgerHold).count() == 1
    assert budgets.summary(budget).held_pence == 2_000


def test_provider_accepts_then_records_a_partial_delivery(setup, policy):
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy), units=3), budget, policy)
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    with pytest.raises(ValidationError, match="once it has started"):
        bookings.record_delivery(visit, by=staff, now=visit.starts_at - dt.timedelta(minutes=1))
    bookings.record_delivery(visit, by=staff, delivered_units=2, now=visit.starts_at + dt.timedelta(hours=3))
    db.session.expire_all()
    booking = bookings.get_booking(booking.public_id)
    assert booking.status is BookingStatus.COMPLETED
    assert booking.visits[0].status is VisitStatus.DELIVERED and booking.visits[0].charged_pence == 4_000
    figures = budgets.summary(budget)
    assert (figures.available_pence, figures.held_pence, figures.spent_pence) == (46_000, 0, 4_000)
    assert ledger.balance(ledger.provider_payable_account(service.provider)) == 4_000
    with pytest.raises(Conflict):
        bookings.record_delivery(booking.visits[0], by=staff, now=visit.starts_at + dt.timedelta(hours=3))
    assert ledger_check.check() == []


def test_declining_releases_the_hold_and_needs_a_reason(setup, policy):
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy)), budget, policy)
    with pytest.raises(ValidationError):
        bookings.decline(booking, by=staff, reason="   ")
    bookings.decline(booking, by=staff, reason="No carers free that morning")
    db.session.expire_all()
    booking = bookings.get_booking(booking.public_id)
    assert booking.status is BookingStatus.DECLINED and booking.decline_reason == "No carers free that morning"
    assert booking.visits[0].status is VisitStatus.DECLINED
    assert budgets.summary(budget).available_pence == 50_000
    with pytest.raises(InvalidTransition):
        bookings.accept(booking, by=staff)
    # The place is free again for someone else.
    again = _book(request_for(service, budget, day=future_day(policy)), budget, policy)
    assert again.status is BookingStatus.REQUESTED


def test_cancelling_in_time_is_free_and_late_is_charged(setup, policy):
    budget, service, staff = setup
    now = dt.datetime.now(dt.UTC)
    booking = _book(request_for(service, budget, day=future_day(policy, 5)), budget, policy)
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    late_now = visit.starts_at - dt.timedelta(hours=23)
    preview = bookings.cancellation_plan(booking, policy=policy, now=late_now)
    assert preview.charged == [visit] and preview.charged_pence == 2_000
    preview = bookings.cancellation_plan(booking, policy=policy, now=visit.starts_at - dt.timedelta(hours=25))
    assert preview.free == [visit]

    bookings.cancel(booking, by=budget.citizen, policy=policy, now=late_now)
    db.session.expire_all()
    booking = bookings.get_booking(booking.public_id)
    assert booking.status is BookingStatus.CANCELLED
    assert booking.visits[0].status is VisitStatus.LATE_CANCELLED
    assert budgets.summary(budget).spent_pence == 2_000

    free = _book(request_for(service, budget, day=future_day(policy, 5)), budget, policy)
    bookings.accept(free, by=staff)
    bookings.cancel(free, by=budget.citizen, policy=policy, now=now)
    assert budgets.summary(budget).available_pence == 48_000
    with pytest.raises(InvalidTransition):
        bookings.cancel(free, by=budget.citizen, policy=policy)
    assert ledger_check.check() == []


def test_cancelled_bookings_cannot_be_completed(setup, policy):
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy)), budget, policy)
    bookings.cancel(booking, by=budget.citizen, policy=policy)
    with pytest.raises((InvalidTransition, Conflict)):
        bookings.record_delivery(booking.visits[0], by=staff, now=booking.visits[0].starts_at + dt.timedelta(hours=1))


def test_capacity_is_never_exceeded(make_budget, make_service, policy):
    service = make_service(capacity=1, price_pence=1_500)
    a, b = make_budget(), make_budget()
    day = future_day(policy)
    _book(request_for(service, a, day=day, at="10:00", units=2), a, policy)
    with pytest.raises(ValidationError, match="fully booked"):
        _book(request_for(service, b, day=day, at="11:30"), b, policy)
    assert budgets.summary(b).held_pence == 0
    _book(request_for(service, b, day=day, at="12:00"), b, policy)


@pytest.mark.parametrize(
    "change, field, message",
    [
        ({"units": 0}, "units", "from 1 to 24"),
        ({"units": -3}, "units", "from 1 to 24"),
        ({"units": 25}, "units", "from 1 to 24"),
        ({"at": "10:10"}, "start_time", "quarter past"),
        ({"at": "06:00"}, "start_time", "does not run this service at that time"),
        ({"at": "19:30", "units": 2}, "start_time", "does not run this service at that time"),
        ({"days": -1}, "first_date", "today or in the future"),
        ({"days": 400}, "first_date", "within the next year"),
        ({"units": 30 * 24}, "units", "from 1 to 24"),
    ],
)
def test_bad_requests_get_a_clear_message_and_change_nothing(setup, policy, change, field, message):
    budget, service, _ = setup
    change = dict(change)  # parametrize shares the dict between the SQLite and PostgreSQL runs
    days = change.pop("days", None)
    day = future_day(policy) if days is None else today() + dt.timedelta(days=days)
    request = request_for(service, budget, day=day, at=change.pop("at", "10:00"), units=change.pop("units", 1))
    with pytest.raises(ValidationError) as raised:
        _book(request, budget, policy)
    assert message in raised.value.errors[field]
    assert budgets.summary(budget).held_pence == 0
    assert bookings.bookings_for_citizen(budget.citizen) == []


def test_more_than_the_budget_can_pay_is_refused(make_budget, make_service, policy):
    budget = make_budget(amount=3_000)
    service = make_service(price_pence=2_000)
    with pytest.raises(ValidationError) as raised:
        _book(request_for(service, budget, day=future_day(policy), units=2), budget, policy)
    assert raised.value.errors["payment"] == "This booking needs £40 from your budget now, but only £30 is available"
    assert budgets.summary(budget).available_pence == 3_000


def test_someone_elses_budget_cannot_be_used(make_budget, make_service, make_user, policy):
    mine, theirs = make_budget(), make_budget()
    service = make_service()
    request = request_for(service, theirs, day=future_day(policy))
    with pytest.raises(ValidationError) as raised:
        bookings.create(request, citizen=mine.citizen, booker=mine.citizen, policy=policy)
    assert "yours" in raised.value.errors["payment"]
    assert budgets.summary(theirs).held_pence == 0


def test_services_not_taking_budgets_or_not_listed(make_budget, make_service, policy):
    budget = make_budget()
    private = make_service(accepts_personal_budget=False)
    with pytest.raises(ValidationError, match="does not accept personal budgets"):
        _book(request_for(private, budget, day=future_day(policy)), budget, policy)
    from app.models import ServiceStatus

    gone = make_service(status=ServiceStatus.WITHDRAWN)
    with pytest.raises(NotFound):
        _book(request_for(gone, budget, day=future_day(policy)), budget, policy)


def test_a_changed_price_between_check_and_confirm_is_caught(setup, policy):
    budget, service, _ = setup
    request = request_for(service, budget, day=future_day(policy), expected_total_pence=1_500)
    with pytest.raises(ValidationError, match="The price has changed: the total is now £20"):
        _book(request, budget, policy)


def test_day_services_take_one_place_per_day(make_budget, make_service, policy):
    service = make_service(
        category="day-opportunities",
        price_unit=PriceUnit.DAY,
        price_pence=6_000,
        capacity=1,
        hours=[(d, "09:30", "15:30") for d in range(7)],
    )
    a, b = make_budget(amount=100_000), make_budget(amount=100_000)
    day = future_day(policy)
    booking = _book(request_for(service, a, day=day, at="09:30"), a, policy)
    assert booking.total_pence == 6_000
    with pytest.raises(ValidationError, match="fully booked"):
        _book(request_for(service, b, day=day, at="10:00"), b, policy)


def test_holds_are_released_exactly_once_even_if_asked_twice(setup, policy):
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy)), budget, policy)
    hold = ledger.live_hold_for_visit(booking.visits[0].id)
    bookings.decline(booking, by=staff, reason="Full")
    db.session.refresh(hold)
    assert hold.status is HoldStatus.RELEASED
    with pytest.raises(ledger.HoldAlreadySettled):
        from app.database import write_transaction

        with write_transaction():
            ledger.settle_hold(hold, capture_pence=0, payee=None, actor=ledger.Actor.system("test"))
    assert budgets.summary(budget).available_pence == 50_000


def test_card_bookings_do_not_touch_budgets(setup, policy, app):
    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x")  # a quote calls nobody
    budget, service, _ = setup
    request = request_for(service, None, day=future_day(policy), payment_method=PaymentMethod.CARD)
    quote = bookings.plan(request, citizen=budget.citizen, policy=policy)
    assert quote.budget is None and quote.total_pence == 2_000


def test_closed_days_are_refused_for_one_off_and_skipped_in_a_weekly_series(setup, policy):
    from app.models import ServiceClosure

    budget, service, _ = setup
    day = future_day(policy, 2)
    db.session.add(ServiceClosure(provider_id=service.provider_id, starts_on=day, ends_on=day, reason="Staff training"))
    db.session.commit()
    with pytest.raises(ValidationError) as raised:
        bookings.plan(request_for(service, budget, day=day), citizen=budget.citizen, policy=policy)
    assert (
        raised.value.errors["first_date"] == f"{service.provider.name} is closed on {day:%A %-d %B} (Staff training). Choose another date"
    )

    weekly = request_for(
        service,
        budget,
        day=day - dt.timedelta(days=7) if day - dt.timedelta(days=7) > today() else day,
        schedule=BookingSchedule.WEEKLY,
        weekdays=(day.weekday(),),
        weeks=3,
    )
    quote = bookings.plan(weekly, citizen=budget.citizen, policy=policy)
    assert (day, "Staff training") in quote.skipped
    assert all(v.local_date != day for v in quote.visits)
    assert len(quote.visits) == 3 - len(quote.skipped)


# Whatever today's date ---------------------------------------------------------------------


@pytest.fixture
def period_ending_in(request, app):
    """Configure the 4-week periods so today's ends in ``request.param`` days (1: today is
    the last day of its period). Requested before ``policy`` and the factories."""
    from tests.services.money_helpers import today as uk_today

    end = uk_today() + dt.timedelta(days=request.param)
    app.config["BUDGET_PERIOD_ANCHOR"] = (end - dt.timedelta(days=28)).isoformat()
    return request.param


@pytest.mark.parametrize("period_ending_in", [1, 2, 3, 5, 7, 8, 28], indirect=True)
def test_the_money_journey_works_on_any_day_of_a_period(period_ending_in, make_budget, make_service, make_user, policy):
    """The key assertions of these tests, with today near (or far from) its period's end:
    the helpers choose days in a funded period, so nothing depends on the calendar."""
    assert policy.period_containing(today())[1] == today() + dt.timedelta(days=period_ending_in)
    budget = make_budget(amount=50_000)
    service = make_service(price_pence=2_000, capacity=3)
    staff = make_user(Role.PROVIDER)

    booking = _book(request_for(service, budget, day=future_day(policy), units=2), budget, policy)
    assert [v.status for v in booking.visits] == [VisitStatus.HELD]
    figures = budgets.summary(budget)
    assert (figures.available_pence, figures.held_pence, figures.spent_pence) == (46_000, 4_000, 0)

    free = _book(request_for(service, budget, day=future_day(policy, 5)), budget, policy)
    bookings.cancel(free, by=budget.citizen, policy=policy)  # 5 days ahead: in good time
    assert budgets.summary(budget).available_pence == 46_000

    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=2))
    figures = budgets.summary(budget)
    assert (figures.available_pence, figures.held_pence, figures.spent_pence) == (46_000, 0, 4_000)

    start, end = policy.period_containing(today())[0], funded_period(policy)[1]
    statement = budgets.statement(budget, start, end)
    assert (statement.money_in_pence, statement.paid_pence) == (50_000, 4_000)
    assert statement.closing_available_pence == 46_000 and statement.closing_held_pence == 0
    assert ledger_check.check() == []


# Telling both sides ------------------------------------------------------------------------


def test_a_budget_request_is_announced_in_its_own_transaction_once(setup, policy, monkeypatch):
    """The 'new booking request' notices are written with the booking: a failure while
    writing them books nothing (never a booking nobody was told about), and a retry of the
    same request tells nobody twice."""
    from app.models import Booking, Notification
    from app.services import notifications

    budget, service, _ = setup
    provider_staff = _provider_staff(service)
    request = request_for(service, budget, day=future_day(policy), key="announce-once")
    real_notify_each = notifications.notify_each

    def failing(*args, **kwargs):
        raise RuntimeError("the notifications table is unwell")

    monkeypatch.setattr(notifications, "notify_each", failing)
    with pytest.raises(RuntimeError):
        _book(request, budget, policy)
    assert db.session.query(Booking).count() == 0  # nothing booked, nothing held
    assert budgets.summary(budget).held_pence == 0

    monkeypatch.setattr(notifications, "notify_each", real_notify_each)
    first = _book(request, budget, policy)
    again = _book(request, budget, policy)
    assert again.id == first.id and first.requested_notified_at is not None
    told = db.session.query(Notification).filter_by(user_id=provider_staff.id).all()
    assert [n.subject for n in told] == [f"New booking request {first.reference}"]
    assert db.session.query(Notification).filter_by(user_id=budget.citizen_id).count() == 1


def _provider_staff(service):
    from app.models import OrgRole, ProviderStaff, User

    user = User(email=f"staff-{service.id}@example.test", name="Provider Staff", role=Role.PROVIDER)
    db.session.add(user)
    db.session.flush()
    db.session.add(ProviderStaff(provider_id=service.provider_id, user_id=user.id, org_role=OrgRole.OWNER))
    db.session.commit()
    return user


# Visits that were not covered ----------------------------------------------------------------


def _short_booking(make_budget, service, policy):
    """A budget of £25 a period with three £20 weekly visits booked in the next period and
    £50 there when it is funded: the first two are held, the third is short."""
    from app.services.ledger import Actor

    budget = make_budget(amount=2_500)
    _, next_start = funded_period(policy)
    request = request_for(service, budget, day=next_start, schedule=BookingSchedule.WEEKLY, weekdays=(next_start.weekday(),), weeks=3)
    booking = _book(request, budget, policy)
    result = budgets.fund_budget(budget, next_start, policy=policy, actor=Actor.system("test"))
    assert result.held_visits == 2 and len(result.short_visits) == 1
    return budget, bookings.get_booking(booking.public_id)


def test_a_short_visit_is_held_when_a_cancellation_gives_money_back(make_budget, make_service, make_user, policy):
    from app.models import Notification

    service = make_service(price_pence=2_000, capacity=3)
    provider_staff = _provider_staff(service)
    budget, booking = _short_booking(make_budget, service, policy)
    first, _, last = booking.visits
    assert last.status is VisitStatus.SHORT and budgets.summary(budget).short_pence == 2_000

    bookings.cancel(booking, by=budget.citizen, policy=policy, visit_ids=[first.id])
    db.session.expire_all()
    booking = bookings.get_booking(booking.public_id)
    assert [v.status for v in booking.visits] == [VisitStatus.CANCELLED, VisitStatus.HELD, VisitStatus.HELD]
    figures = budgets.summary(budget)
    assert figures.short_pence == 0 and figures.held_pence == 4_000 and figures.available_pence == 1_000
    assert booking.events[-1].kind == "money_covered"
    assert any(
        n.subject == f"Booking {booking.reference}: visits now covered"
        for n in db.session.query(Notification).filter_by(user_id=provider_staff.id)
    )
    # Now it can be delivered.
    staff = make_user(Role.PROVIDER)
    bookings.accept(booking, by=staff)
    bookings.record_delivery(booking.visits[2], by=staff, now=booking.visits[2].starts_at + dt.timedelta(hours=1))
    assert ledger_check.check() == []


def test_a_short_visit_is_held_first_when_the_next_period_is_funded(make_budget, make_service, policy):
    from app.services.ledger import Actor

    service = make_service(price_pence=2_000, capacity=3)
    budget, booking = _short_booking(make_budget, service, policy)
    short = booking.visits[2]
    _, next_start = funded_period(policy)
    later = next_start + dt.timedelta(days=28)
    # A visit in the period after, booked before it is funded.
    after = _book(request_for(service, budget, day=later + dt.timedelta(days=1)), budget, policy)
    result = budgets.fund_budget(budget, later, policy=policy, actor=Actor.system("test"))
    # £10 left + £25 new = £35: the short visit (the earliest) first, then not the later one.
    assert result.held_visits == 1
    db.session.expire_all()
    assert db.session.get(type(short), short.id).status is VisitStatus.HELD
    assert bookings.get_booking(after.public_id).visits[0].status is VisitStatus.SHORT
    assert ledger_check.check() == []


@pytest.mark.parametrize("how", ["declined", "delivered_in_part"])
def test_a_short_visit_is_held_when_money_comes_back_from_another_booking(make_budget, make_service, make_user, policy, how):
    """Money given back by a declined booking, or by a visit delivered in part, is set aside
    for the earliest visit that was not covered (the same path as a funding run)."""
    from app.models import Notification
    from app.services.ledger import Actor

    service = make_service(price_pence=1_000, capacity=3)
    provider_staff = _provider_staff(service)
    budget = make_budget(amount=2_500)
    other = _book(request_for(service, budget, day=future_day(policy), units=2), budget, policy)  # £20 of £25 held now
    _, next_start = funded_period(policy)
    weekly = _book(
        request_for(service, budget, day=next_start, units=2, schedule=BookingSchedule.WEEKLY, weekdays=(next_start.weekday(),), weeks=3),
        budget,
        policy,
    )
    result = budgets.fund_budget(budget, next_start, policy=policy, actor=Actor.system("test"))
    assert result.held_visits == 1 and len(result.short_visits) == 2  # £5 + £25: one £20 visit of three

    staff = make_user(Role.PROVIDER)
    if how == "declined":
        bookings.decline(other, by=staff, reason="No carers that day")  # £20 back
    else:
        bookings.accept(other, by=staff)
        visit = other.visits[0]
        bookings.record_delivery(visit, by=staff, delivered_units=1, now=visit.starts_at + dt.timedelta(hours=2))  # £10 back
    db.session.expire_all()
    weekly = bookings.get_booking(weekly.public_id)
    assert [v.status for v in weekly.visits] == [VisitStatus.HELD, VisitStatus.HELD, VisitStatus.SHORT]
    assert weekly.events[-1].kind == "money_covered"
    assert any(
        n.subject == f"Booking {weekly.reference}: visits now covered"
        for n in db.session.query(Notification).filter_by(user_id=provider_staff.id)
    )
    assert budgets.summary(budget).short_pence == 2_000
    assert ledger_check.check() == []


def test_a_cancellation_charged_differently_from_what_was_shown_is_refused(setup, policy):
    """The person saw a free cancellation (the booking was only requested); the provider
    accepted before they confirmed, so it is now charged: nothing is cancelled, and the
    error says what it would cost."""
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy, 3)), budget, policy)
    visit = booking.visits[0]
    late = visit.starts_at - dt.timedelta(hours=2)
    assert bookings.cancellation_plan(booking, policy=policy, now=late).charged == []  # what the page showed
    bookings.accept(booking, by=staff)
    with pytest.raises(bookings.ChargeChanged, match="charged £20"):
        bookings.cancel(booking, by=budget.citizen, policy=policy, now=late, charges_seen=[])
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).visits[0].status is VisitStatus.HELD
    plan = bookings.cancel(booking, by=budget.citizen, policy=policy, now=late, charges_seen=[visit.id])
    assert plan.charged_pence == 2_000


def test_visit_statuses_only_move_as_the_state_machine_allows(setup, policy):
    """A visit that was delivered cannot be cancelled, nor paid for again, by anyone."""
    budget, service, staff = setup
    booking = _book(request_for(service, budget, day=future_day(policy)), budget, policy)
    visit = booking.visits[0]
    from app.database import write_transaction

    with pytest.raises(Conflict, match="is booked, money set aside now, so it cannot be recorded as delivered"), write_transaction():
        bookings.move_visit(db.session.get(type(visit), visit.id), (VisitStatus.SCHEDULED,), VisitStatus.DELIVERED)
    with pytest.raises(Conflict, match="cannot be paid for"), write_transaction():
        bookings.move_visit(db.session.get(type(visit), visit.id), (VisitStatus.DELIVERED,), VisitStatus.HELD)
    assert ledger_check.check() == []


def test_the_plan_reads_a_services_usual_hours_as_they_were_saved(make_budget, make_service, policy):
    # The plan reads the hours in the service's own row (as text, on both databases): a
    # half hour, a window past midnight and a day with two windows come back as saved.
    hours = [(0, "07:30", "12:00"), (0, "14:00", "18:15"), (4, "22:00", "07:00"), (6, "00:00", "23:59")]
    service = make_service(hours=hours)
    read = _bookable(service.id, None)[1]
    assert sorted(read) == [OpenHours(d, dt.time.fromisoformat(o), dt.time.fromisoformat(c)) for d, o, c in hours]
    assert _bookable(make_service(hours=[]).id, None)[1] == ()


def test_a_visit_is_planned_only_inside_the_usual_hours_overnight_too(make_budget, make_service, make_provider_staff, policy):
    service = make_service(hours=[(d, "21:00", "06:30") for d in range(7)])
    make_provider_staff(service.provider)
    budget = make_budget()
    day = future_day(policy)
    booking = _book(request_for(service, budget, day=day, at="23:00", units=7), budget, policy)  # until 06:00 the next day
    assert booking.total_pence == 7 * service.price_pence
    with pytest.raises(ValidationError, match="does not run this service at that time"):
        _book(request_for(service, budget, day=day, at="20:45"), budget, policy)
