"""Booking a service: plan, book, accept or decline, cancel, record delivery.

Every state change is one unit of work (``write_transaction``). Money moves only through
``app.services.ledger``: a hold for each visit in a funded period when the booking is
made, captured when the provider records the visit as delivered (or cancelled too late),
released when it is declined or cancelled in time. Capacity is taken with a conditional
update per time cell, so two people can never take the last place at once.

Every status change of a booking or a visit is a conditional ``UPDATE ... WHERE status IN
(...)`` with its row count checked, so of two people changing the same thing at once
exactly one wins and the other gets a Conflict that changes nothing. Each step first locks
the booking's row and then its visits' rows (PostgreSQL; on SQLite the unit of work holds
the write lock), then capacity, then money: one order everywhere, so concurrent steps
queue instead of deadlocking, and each step decides on what is true now, not on what it
read before another step committed. Card payments keep the same order and the same visit
moves (``lock_booking``, ``try_move_visit``): a webhook or a retry never overwrites a
change a person made at the same moment.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    Booking,
    BookingEvent,
    BookingSchedule,
    BookingStatus,
    BookingVisit,
    BudgetOutcome,
    BudgetStatus,
    CapacityCell,
    FundingRoute,
    PaymentMethod,
    PersonalBudget,
    PriceUnit,
    Provider,
    ProviderStatus,
    Service,
    ServiceHours,
    ServiceStatus,
    User,
    VisitStatus,
)
from app.services import booking_notifications, ledger
from app.services.errors import Conflict, InvalidTransition, NotFound, ValidationError
from app.services.ledger import Actor, HoldAlreadySettled, InsufficientFunds
from app.services.policy import Policy
from app.uk_time import UK, local_date, local_midnight

MAX_DAYS_AHEAD = 366
MAX_WEEKS = 52
MAX_MESSAGE = 1000
MAX_UNITS = {
    PriceUnit.HOUR: 24,
    PriceUnit.VISIT: 10,
    PriceUnit.DAY: 14,
    PriceUnit.NIGHT: 28,
    PriceUnit.WEEK: 12,
    PriceUnit.ITEM: 20,
}
CELL = dt.timedelta(minutes=15)
REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


# Planning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingRequest:
    """What a person asks for on the booking form."""

    service_id: int
    request_key: str
    schedule: BookingSchedule
    first_date: dt.date
    start_time: dt.time
    units: int
    weekdays: tuple[int, ...] = ()  # weekly bookings: 0 = Monday
    weeks: int = 1
    payment_method: PaymentMethod = PaymentMethod.BUDGET
    budget_public_id: str | None = None
    card_public_id: str | None = None  # card bookings: the payer's saved card
    outcome_id: int | None = None
    message: str = ""
    expected_total_pence: int | None = None  # the total the person confirmed


@dataclass(frozen=True)
class PlannedVisit:
    starts_at: dt.datetime
    ends_at: dt.datetime
    units: int
    amount_pence: int
    hold_now: bool  # falls in a period the budget has been funded for

    @property
    def local_date(self) -> dt.date:
        return local_date(self.starts_at)


@dataclass
class Quote:
    service: Service
    request: BookingRequest
    unit_price_pence: int
    visits: list[PlannedVisit]
    budget: PersonalBudget | None = None
    available_pence: int | None = None
    outcome: BudgetOutcome | None = None
    skipped: list[tuple[dt.date, str]] = field(default_factory=list)  # (day, reason): closed days in a weekly series

    @property
    def total_pence(self) -> int:
        return sum(v.amount_pence for v in self.visits)

    @property
    def hold_now_pence(self) -> int:
        return sum(v.amount_pence for v in self.visits if v.hold_now)

    @property
    def later_pence(self) -> int:
        return self.total_pence - self.hold_now_pence


def _unit_span(unit: PriceUnit, units: int) -> dt.timedelta:
    if unit is PriceUnit.HOUR:
        return dt.timedelta(hours=units)
    if unit in (PriceUnit.DAY, PriceUnit.NIGHT):
        return dt.timedelta(days=units)
    if unit is PriceUnit.WEEK:
        return dt.timedelta(weeks=units)
    return dt.timedelta(hours=1)  # a visit, or an item delivered in an hour's slot


def _windows(hours: list[ServiceHours], day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """Opening windows that start on ``day`` (overnight ones end the next morning)."""
    out = []
    for slot in hours:
        if slot.weekday != day.weekday():
            continue
        opens = dt.datetime.combine(day, slot.opens_at, tzinfo=UK)
        close_day = day + dt.timedelta(days=1) if slot.closes_at < slot.opens_at else day
        closes = dt.datetime.combine(close_day, slot.closes_at, tzinfo=UK)
        out.append((opens, closes))
    return out


def _within_hours(service: Service, starts_at: dt.datetime, ends_at: dt.datetime, unit: PriceUnit, units: int) -> bool:
    day = starts_at.astimezone(UK).date()
    start_local = starts_at.astimezone(UK)
    candidates = _windows(service.hours, day) + _windows(service.hours, day - dt.timedelta(days=1))
    if unit is PriceUnit.HOUR:
        end_local = ends_at.astimezone(UK)
        return any(opens <= start_local and end_local <= closes for opens, closes in candidates)
    if not any(opens <= start_local < closes for opens, closes in candidates):
        return False
    if unit in (PriceUnit.DAY, PriceUnit.NIGHT):
        # Every day (or night) booked must be one the service runs.
        return all(_windows(service.hours, day + dt.timedelta(days=i)) for i in range(units))
    return True


def _visit_dates(request: BookingRequest) -> list[dt.date]:
    if request.schedule is BookingSchedule.ONE_OFF:
        return [request.first_date]
    end = request.first_date + dt.timedelta(weeks=request.weeks)
    return [
        request.first_date + dt.timedelta(days=i)
        for i in range((end - request.first_date).days)
        if (request.first_date + dt.timedelta(days=i)).weekday() in request.weekdays
    ]


def _closed_days(service: Service, dates: list[dt.date], unit: PriceUnit, units) -> dict[dt.date, str]:
    """Days in the booking's span when the provider is closed, with the reason given."""
    from app.services import listings

    if not dates:
        return {}
    span = units if unit in (PriceUnit.DAY, PriceUnit.NIGHT) and isinstance(units, int) else 1
    closed: dict[dt.date, str] = {}
    for closure in listings.closures_for_service(service, min(dates), max(dates) + dt.timedelta(days=max(span, 1))):
        day = closure.starts_on
        while day <= closure.ends_on:
            closed.setdefault(day, closure.reason or "")
            day += dt.timedelta(days=1)
    return closed


def _because(reason: str) -> str:
    return f" ({reason})" if reason else ""


def listed_service(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None or service.status is not ServiceStatus.PUBLISHED or service.provider.status is not ProviderStatus.VERIFIED:
        raise NotFound("No such service")
    return service


def usable_budgets(citizen: User, service: Service | None = None) -> list[PersonalBudget]:
    """The citizen's active budgets (an ISF only with its own provider)."""
    budgets = (
        db.session.execute(
            select(PersonalBudget).where(PersonalBudget.citizen_id == citizen.id, PersonalBudget.status == BudgetStatus.ACTIVE)
        )
        .scalars()
        .all()
    )
    if service is not None:
        budgets = [b for b in budgets if not b.is_isf or b.isf_provider_id == service.provider_id]
    return list(budgets)


def plan(request: BookingRequest, *, citizen: User, policy: Policy, now: dt.datetime | None = None, booker: User | None = None) -> Quote:
    """Check a booking request and work out its visits and cost. Writes nothing.

    ``booker`` is who is booking (the citizen, or their representative); it defaults to the citizen.

    Raises ValidationError naming each problem in words a person can act on.
    """
    from app.services import budgets as budget_service

    now = now or utcnow()
    booker = booker or citizen
    service = listed_service(request.service_id)
    unit = service.price_unit
    errors: dict[str, str] = {}

    units = request.units
    top = MAX_UNITS[unit]
    low = max(1, service.min_units)
    if isinstance(units, bool) or not isinstance(units, int) or not (low <= units <= top):
        plural = unit.value + "s"
        errors["units"] = f"Enter a number of {plural} from {low} to {top}"

    if request.start_time.minute % 15 or request.start_time.second:
        errors["start_time"] = "Choose a start time on the hour, or at quarter past, half past or quarter to"

    today = now.astimezone(UK).date()
    if request.first_date < today:
        errors["first_date"] = "The date must be today or in the future"
    elif request.first_date > today + dt.timedelta(days=MAX_DAYS_AHEAD):
        errors["first_date"] = "The date must be within the next year"

    if request.schedule is BookingSchedule.WEEKLY:
        if not request.weekdays or any(d not in range(7) for d in request.weekdays):
            errors["weekdays"] = "Select the days of the week you want"
        if isinstance(request.weeks, bool) or not isinstance(request.weeks, int) or not (1 <= request.weeks <= MAX_WEEKS):
            errors["weeks"] = f"Enter a number of weeks from 1 to {MAX_WEEKS}"

    if len(request.message or "") > MAX_MESSAGE:
        errors["message"] = f"Your message must be {MAX_MESSAGE} characters or fewer"

    budget = None
    available = None
    outcome = None
    if request.payment_method is PaymentMethod.BUDGET:
        if not service.accepts(FundingRoute.PERSONAL_BUDGET):
            errors["payment"] = f"{service.provider.name} does not accept personal budgets for this service. Choose another way to pay"
        else:
            budget = next((b for b in usable_budgets(citizen) if b.public_id == request.budget_public_id), None)
            if budget is None:
                errors["payment"] = "Choose a personal budget that is yours and active"
            elif budget.is_isf and budget.isf_provider_id != service.provider_id:
                errors["payment"] = (
                    f"Your Individual Service Fund is held with {budget.isf_provider.name}, so it can only pay for their services"
                )
            else:
                available = ledger.balances(budget_service.budget_accounts(budget))
        if budget is not None and request.outcome_id is not None:
            outcome = next((o for o in budget.outcomes if o.id == request.outcome_id), None)
            if outcome is None:
                errors["outcome"] = "Choose one of the outcomes in your support plan"
    else:
        payment_strategy(request.payment_method).check_request(request, service=service, citizen=citizen, booker=booker, errors=errors)

    if errors:
        raise ValidationError(errors)

    funded_until = budget_service.latest_funded_period_end(budget) if budget else None
    visits: list[PlannedVisit] = []
    skipped: list[tuple[dt.date, str]] = []
    dates = _visit_dates(request)
    closed = _closed_days(service, dates, unit, units)
    for day in dates:
        covered = [day + dt.timedelta(days=i) for i in range(units if unit in (PriceUnit.DAY, PriceUnit.NIGHT) else 1)]
        shut = next((d for d in covered if d in closed), None)
        if shut is not None:
            if request.schedule is BookingSchedule.ONE_OFF:
                raise ValidationError(
                    {"first_date": f"{service.provider.name} is closed on {shut:%A %-d %B}{_because(closed[shut])}. Choose another date"}
                )
            skipped.append((shut, closed[shut]))  # a weekly series skips the provider's closed days
            continue
        starts_at = dt.datetime.combine(day, request.start_time, tzinfo=UK).astimezone(dt.UTC)
        ends_at = starts_at + _unit_span(unit, units)
        if starts_at <= now:
            raise ValidationError({"start_time": "The start time must be in the future"})
        if not _within_hours(service, starts_at, ends_at, unit, units):
            raise ValidationError(
                {
                    "start_time": f"{service.provider.name} does not run this service at that time on {day:%A %-d %B}. "
                    "Check the usual days and times"
                }
            )
        hold_now = budget is not None and funded_until is not None and day < funded_until
        visits.append(PlannedVisit(starts_at, ends_at, units, units * service.price_pence, hold_now))
    if not visits:
        if skipped:
            raise ValidationError({"first_date": f"{service.provider.name} is closed on every day you chose. Choose other dates"})
        raise ValidationError({"weekdays": "None of the days you chose fall within those weeks"})

    quote = Quote(service, request, service.price_pence, visits, budget, available, outcome, skipped)
    if budget is not None and quote.hold_now_pence > (available or 0):
        raise ValidationError(
            {
                "payment": (
                    f"This booking needs {format_pence(quote.hold_now_pence)} from your budget now, "
                    f"but only {format_pence(available or 0)} is available"
                )
            }
        )
    if budget is not None and not any(v.hold_now for v in visits) and funded_until is None:
        raise ValidationError({"payment": "Your budget has not been funded yet. Try again once the council has paid it in"})
    return quote


# Paying ---------------------------------------------------------------------------------


class PaymentStrategy:
    """How one way of paying moves money at each step of a booking's life.

    The booking functions call these hooks; each hook moves money only through the ledger
    (or, for cards, ``app.services.card_payments``). Hooks named ``after_*`` run after the
    booking's unit of work has committed, so they may talk to an outside processor.
    """

    def check_request(self, request: BookingRequest, *, service: Service, citizen: User, booker: User, errors: dict) -> None:
        """Add to ``errors`` anything about paying this way that stops the booking."""

    def on_create(self, booking: Booking, *, request: BookingRequest, quote: Quote, visits, actor: Actor, now: dt.datetime) -> None:
        """Inside the booking's transaction: set money aside for the visits (``visits`` is
        a list of (BookingVisit, PlannedVisit))."""

    def after_create(self, booking: Booking, *, now: dt.datetime | None = None) -> None:
        """After the booking is saved (and again on a retry of the same request)."""

    def can_charge_late(self, visit: BookingVisit) -> bool:
        """Whether cancelling this upcoming visit inside the notice window is charged."""
        return visit.status is VisitStatus.HELD

    def can_deliver(self, visit: BookingVisit) -> bool:
        return visit.status is VisitStatus.HELD

    def release(self, booking: Booking, visit: BookingVisit, *, actor: Actor, memo: str, now: dt.datetime | None = None) -> None:
        """Inside a transaction: give back what was set aside for a visit that will not happen."""
        held = ledger.live_hold_for_visit(visit.id)
        if held is not None:
            ledger.settle_hold(held, capture_pence=0, payee=None, actor=actor, memo=memo, effective_at=now)

    def charge(self, booking: Booking, visit: BookingVisit, *, amount_pence: int, actor: Actor, now: dt.datetime, memo: str) -> None:
        """Inside a transaction: pay the provider ``amount_pence`` for a visit (delivered or
        cancelled late) from what was set aside; release the rest."""
        held = ledger.live_hold_for_visit(visit.id)
        if held is None:
            raise HoldAlreadySettled(f"no money is set aside for visit {visit.id}")
        ledger.settle_hold(
            held,
            capture_pence=amount_pence,
            payee=ledger.provider_payable_account(booking.provider),
            actor=actor,
            effective_at=now,
            memo=memo,
        )

    def after_commit(self, booking: Booking) -> None:
        """After a decline, cancellation or delivery has committed."""


class BudgetPayment(PaymentStrategy):
    """Paying from a personal budget: a ledger hold per visit in a funded period."""

    def on_create(self, booking, *, request, quote, visits, actor, now):
        source = _source_account(quote.budget)
        holding = ledger.hold_account(booking)
        for visit, planned in visits:
            if not planned.hold_now:
                continue
            try:
                ledger.place_hold(
                    visit_id=visit.id,
                    source=source,
                    hold=holding,
                    amount_pence=visit.amount_pence,
                    key=f"hold:visit:{visit.id}:1",
                    actor=actor,
                    effective_at=now,
                    memo=f"Set aside for {quote.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})",
                )
            except InsufficientFunds:
                raise ValidationError(
                    {"payment": "There is not enough money in your budget for this booking. Check your budget and try again"}
                ) from None
            _move_visit(visit, (VisitStatus.SCHEDULED,), VisitStatus.HELD)


def payment_strategy(method: PaymentMethod) -> PaymentStrategy:
    if method is PaymentMethod.CARD:
        from app.services import card_payments

        return card_payments.CARD_PAYMENT
    return _BUDGET_PAYMENT


_BUDGET_PAYMENT = BudgetPayment()


# Booking ----------------------------------------------------------------------------------


def _new_reference() -> str:
    return "BK-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def find_by_request_key(key: str) -> Booking | None:
    return db.session.execute(select(Booking).where(Booking.request_key == key)).scalar_one_or_none()


def create(request: BookingRequest, *, citizen: User, booker: User, policy: Policy, now: dt.datetime | None = None) -> Booking:
    """Make the booking, take capacity and hold the money for funded periods, in one step.

    Idempotent on ``request.request_key``: a retry returns the first booking.
    """
    existing = find_by_request_key(request.request_key)
    if existing is not None:
        return _retried(existing, booker, now)
    try:
        booking = _create(request, citizen=citizen, booker=booker, policy=policy, now=now)
    except IntegrityError:
        db.session.rollback()
        existing = find_by_request_key(request.request_key)
        if existing is None:
            raise
        return _retried(existing, booker, now)
    # Work that talks to a card processor happens after the booking is saved, never
    # inside the database transaction; it may undo the booking (a declined card).
    payment_strategy(booking.payment_method).after_create(booking, now=now)
    _announce_request(booking)
    return booking


def _retried(existing: Booking, booker: User, now: dt.datetime | None) -> Booking:
    """The same request again: the first booking, with whatever the first try left
    unfinished done now (card authorisations, telling both sides after a crash)."""
    booking = _same_requester(existing, booker)
    payment_strategy(booking.payment_method).after_create(booking, now=now)
    _announce_request(booking)
    return booking


def _tell_requested(booking: Booking) -> None:
    """Inside a unit of work: tell both sides about a new request, exactly once (the
    notifications and the mark that they were sent commit together)."""
    table = Booking.__table__
    claimed = db.session.execute(
        update(table).where(table.c.id == booking.id, table.c.requested_notified_at.is_(None)).values(requested_notified_at=utcnow())
    ).rowcount
    if claimed == 1:
        booking_notifications.booking_changed(booking, "requested")
    db.session.expire(booking, ["requested_notified_at", "updated_at"])


def _announce_request(booking: Booking) -> None:
    """Tell both sides about a request whose payment was settled after it was saved (a
    card booking). A budget booking told them in its own unit of work already."""
    if db.session.get(Booking, booking.id).requested_notified_at is not None:
        return
    with write_transaction():
        fresh = db.session.get(Booking, booking.id)
        if fresh.status.is_open:
            _tell_requested(fresh)


def notify_booking_change(booking: Booking, what: str, detail: str = "") -> None:
    """Tell both sides about a change that happened outside a booking step's own unit of
    work (a card payment's outcome). A new request is told once, by ``_tell_requested``."""
    with write_transaction():
        booking_notifications.booking_changed(db.session.get(Booking, booking.id), what, detail)


def _same_requester(booking: Booking, booker: User) -> Booking:
    if booking.booked_by_id != booker.id:
        raise Conflict("That booking request was already used")
    return booking


def _create(request: BookingRequest, *, citizen: User, booker: User, policy: Policy, now: dt.datetime | None) -> Booking:
    now = now or utcnow()
    with write_transaction():
        if request.payment_method is PaymentMethod.BUDGET and request.budget_public_id:
            # A shared lock on the budget: bookings go ahead side by side, but an ISF move
            # or a funding run of this budget waits for them (and they for it), so the plan
            # below sees which provider holds the fund and what is funded now.
            table = PersonalBudget.__table__
            db.session.execute(select(table.c.id).where(table.c.public_id == request.budget_public_id).with_for_update(read=True))
        # Plan again inside the write transaction: prices and funding as they are now.
        quote = plan(request, citizen=citizen, policy=policy, now=now, booker=booker)
        if request.expected_total_pence is not None and request.expected_total_pence != quote.total_pence:
            raise ValidationError(
                {"total": f"The price has changed: the total is now {format_pence(quote.total_pence)}. Check the details and confirm again"}
            )
        service = quote.service
        booking = Booking(
            public_id=secrets.token_urlsafe(12),
            reference=_new_reference(),
            request_key=request.request_key,
            service_id=service.id,
            provider_id=service.provider_id,
            citizen_id=citizen.id,
            booked_by_id=booker.id,
            budget_id=quote.budget.id if quote.budget else None,
            outcome_id=quote.outcome.id if quote.outcome else None,
            payment_method=request.payment_method,
            schedule=request.schedule,
            unit_price_pence=quote.unit_price_pence,
            price_unit=service.price_unit,
            total_pence=quote.total_pence,
            status=BookingStatus.REQUESTED,
            message=(request.message or "").strip(),
        )
        db.session.add(booking)
        db.session.flush()  # a duplicate request key fails here

        visits = []
        for planned in quote.visits:
            visit = BookingVisit(
                booking_id=booking.id,
                starts_at=planned.starts_at,
                ends_at=planned.ends_at,
                units=planned.units,
                amount_pence=planned.amount_pence,
                status=VisitStatus.SCHEDULED,
            )
            db.session.add(visit)
            visits.append((visit, planned))
        db.session.flush()

        for visit, _ in visits:
            take_places(service, visit)

        payment_strategy(request.payment_method).on_create(
            booking, request=request, quote=quote, visits=visits, actor=Actor.person(booker), now=now
        )
        record_event(booking, "requested", f"Booking requested by {booker.name}: {_describe(booking, len(visits))}", booker, at=now)
        if request.payment_method is PaymentMethod.BUDGET:
            # Nothing can undo a budget booking after this commits: both sides are told in
            # the same unit of work, so the notice is never lost nor sent twice.
            _tell_requested(booking)
    return booking


def _source_account(budget: PersonalBudget):
    from app.services import budgets as budget_service

    return budget_service.spending_account(budget)


def _describe(booking: Booking, visits: int) -> str:
    total = format_pence(booking.total_pence)
    if booking.schedule is BookingSchedule.ONE_OFF:
        return f"1 visit, {total}"
    return f"{visits} visits, {total} in all"


def record_event(booking: Booking, kind: str, message: str, actor: User | None, at: dt.datetime | None = None) -> None:
    """Add a line to the booking's timeline (both sides see it), in the caller's unit of work."""
    db.session.add(
        BookingEvent(booking_id=booking.id, kind=kind, message=message, actor_user_id=actor.id if actor else None, at=at or utcnow())
    )


# Capacity -----------------------------------------------------------------------------------


def capacity_cells(service_unit: PriceUnit, starts_at: dt.datetime, ends_at: dt.datetime, units: int) -> list[dt.datetime]:
    """The time cells a visit takes one place in."""
    if service_unit is PriceUnit.HOUR:
        cells, at = [], starts_at
        while at < ends_at:
            cells.append(at)
            at += CELL
        return cells
    if service_unit is PriceUnit.VISIT:
        return [starts_at]
    day = local_date(starts_at)
    if service_unit in (PriceUnit.DAY, PriceUnit.NIGHT):
        return [local_midnight(day + dt.timedelta(days=i)).astimezone(dt.UTC) for i in range(units)]
    if service_unit is PriceUnit.WEEK:
        monday = day - dt.timedelta(days=day.weekday())
        return [local_midnight(monday + dt.timedelta(weeks=i)).astimezone(dt.UTC) for i in range(units)]
    return [local_midnight(day).astimezone(dt.UTC)]  # items: one delivery a day


def take_places(service: Service, visit: BookingVisit) -> None:
    """Take one place in each of the visit's cells, or none: a single conditional update
    over all the cells is the capacity check (row locks on PostgreSQL, the write lock on
    SQLite), so two people can never both take the last place."""
    table = CapacityCell.__table__
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    cells = sorted(capacity_cells(service.price_unit, visit.starts_at, visit.ends_at, visit.units))
    db.session.execute(
        insert(table)
        .values([{"service_id": service.id, "starts_at": cell, "capacity": service.capacity, "used": 0} for cell in cells])
        .on_conflict_do_nothing(index_elements=["service_id", "starts_at"])
    )
    taken = db.session.execute(
        update(table)
        .where(table.c.service_id == service.id, table.c.starts_at.in_(cells), table.c.used < service.capacity)
        .values(used=table.c.used + 1, capacity=service.capacity)
    ).rowcount
    if taken != len(cells):
        full = (
            db.session.execute(
                select(table.c.starts_at)
                .where(table.c.service_id == service.id, table.c.starts_at.in_(cells), table.c.used >= service.capacity)
                .order_by(table.c.starts_at)
            )
            .scalars()
            .first()
        )
        # Raising rolls the whole unit of work back, including the places just taken.
        raise ValidationError(
            {"start_time": f"{service.provider.name} is fully booked at {format_datetime(full or cells[0])}. Choose another time or day"}
        )


def release_places(booking: Booking, visit: BookingVisit) -> None:
    table = CapacityCell.__table__
    for cell in capacity_cells(booking.price_unit, visit.starts_at, visit.ends_at, visit.units):
        db.session.execute(
            update(table)
            .where(table.c.service_id == booking.service_id, table.c.starts_at == cell, table.c.used > 0)
            .values(used=table.c.used - 1)
        )


# Locks and status changes ----------------------------------------------------------------------


def _lock_visits(query) -> list[BookingVisit]:
    """Lock the visits ``query`` selects (in id order, so two steps never deadlock on them)
    and return them as they are now."""
    return list(
        db.session.execute(
            query.order_by(BookingVisit.id).with_for_update(of=BookingVisit, key_share=True).execution_options(populate_existing=True)
        ).scalars()
    )


def lock_booking(booking_id: int) -> Booking:
    """Lock a booking and its visits for the rest of this unit of work; return it as it is now.

    Every step that changes a booking or its visits starts here, card payments too (a
    webhook, a recorded Stripe answer, ``flask payments retry``: they lock their own payment
    rows after this). PostgreSQL: row locks (FOR NO KEY UPDATE, which still lets other
    work add rows that refer to the booking, such as its timeline); SQLite: the unit of
    work already holds the write lock."""
    table = Booking.__table__
    found = db.session.execute(select(table.c.id).where(table.c.id == booking_id).with_for_update(key_share=True)).scalar()
    if found is None:
        raise NotFound("No such booking")
    booking = db.session.get(Booking, booking_id, populate_existing=True)
    _lock_visits(select(BookingVisit).where(BookingVisit.booking_id == booking_id))
    db.session.expire(booking, ["visits"])
    return booking


# Which status a visit may move to, and from where: the visit state machine.
VISIT_MOVES: dict[VisitStatus, tuple[VisitStatus, ...]] = {
    VisitStatus.HELD: (VisitStatus.SCHEDULED, VisitStatus.SHORT),
    VisitStatus.SHORT: (VisitStatus.SCHEDULED, VisitStatus.SHORT),
    # From UNPAID: a card visit whose failed charge is paid at last goes back to what it was.
    VisitStatus.DELIVERED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.UNPAID),
    VisitStatus.LATE_CANCELLED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.UNPAID),
    VisitStatus.CANCELLED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT),
    VisitStatus.DECLINED: (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT),
    VisitStatus.UNPAID: (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED),  # its card charge failed
}
_VISIT_VERBS = {
    VisitStatus.HELD: "paid for",
    VisitStatus.SHORT: "marked as not covered",
    VisitStatus.DELIVERED: "recorded as delivered",
    VisitStatus.LATE_CANCELLED: "cancelled",
    VisitStatus.CANCELLED: "cancelled",
    VisitStatus.DECLINED: "declined",
    VisitStatus.UNPAID: "marked as unpaid",
}


def _move_visit(visit: BookingVisit, allowed: tuple[VisitStatus, ...], to: VisitStatus, **values) -> None:
    """Change a visit's status only if it is still one of ``allowed`` (and the state machine
    allows it): one conditional UPDATE, its row count checked. Raises Conflict otherwise."""
    allowed = tuple(s for s in allowed if s in VISIT_MOVES[to])
    table = BookingVisit.__table__
    changed = (
        db.session.execute(
            update(table).where(table.c.id == visit.id, table.c.status.in_([s.value for s in allowed])).values(status=to.value, **values)
        ).rowcount
        if allowed
        else 0
    )
    if changed != 1:
        db.session.refresh(visit)
        raise Conflict(
            f"The visit on {format_datetime(visit.starts_at)} is {visit.status.label.lower()} now, so it cannot be {_VISIT_VERBS[to]}"
        )
    db.session.expire(visit)


def try_move_visit(visit: BookingVisit, allowed: tuple[VisitStatus, ...], to: VisitStatus, **values) -> bool:
    """``_move_visit`` for a step that follows what happened elsewhere rather than carrying
    out a person's request (card payments: a webhook, a recorded Stripe answer): the same
    conditional move, but False instead of a Conflict when the visit has moved on (it is
    refreshed, so the caller can act on what it is now, e.g. release the money)."""
    try:
        _move_visit(visit, allowed, to, **values)
    except Conflict:
        return False
    return True


# Holding visits when money comes in -------------------------------------------------------------


def try_hold_visit(visit: BookingVisit, budget: PersonalBudget, actor: Actor) -> bool:
    """Hold money for a committed visit; mark it short if the budget cannot cover it.
    The caller has locked the visit (``lock_visits_to_hold``)."""
    booking = visit.booking
    attempt = (
        1
        + db.session.execute(select(func.count()).select_from(ledger.LedgerHold).where(ledger.LedgerHold.visit_id == visit.id)).scalar_one()
    )
    seen = visit.status
    try:
        ledger.place_hold(
            visit_id=visit.id,
            source=_source_account(budget),
            hold=ledger.hold_account(booking),
            amount_pence=visit.amount_pence,
            key=f"hold:visit:{visit.id}:{attempt}",
            actor=actor,
            effective_at=utcnow(),
            memo=f"Set aside for {booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})",
        )
    except InsufficientFunds:
        _move_visit(visit, (seen,), VisitStatus.SHORT)
        return False
    _move_visit(visit, (seen,), VisitStatus.HELD)
    return True


def lock_visits_to_hold(
    budget: PersonalBudget,
    *,
    before: dt.datetime | None = None,
    statuses: tuple[VisitStatus, ...] = (VisitStatus.SCHEDULED, VisitStatus.SHORT),
) -> list[BookingVisit]:
    """Lock the budget's committed visits that wait for money (booked for a period not yet
    funded, or not covered when it was), starting before ``before``; earliest first."""
    query = (
        select(BookingVisit)
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .where(
            Booking.budget_id == budget.id,
            Booking.payment_method == PaymentMethod.BUDGET,
            Booking.status.in_([BookingStatus.REQUESTED, BookingStatus.ACCEPTED]),
            BookingVisit.status.in_(list(statuses)),
        )
    )
    if before is not None:
        query = query.where(BookingVisit.starts_at < before)
    visits = [v for v in _lock_visits(query) if v.status in statuses]
    return sorted(visits, key=lambda v: (v.starts_at, v.id))


def hold_waiting_visits(budget: PersonalBudget, visits: list[BookingVisit], actor: Actor) -> tuple[int, list[BookingVisit]]:
    """Inside a unit of work, with ``visits`` locked: hold money for each, earliest first,
    while money lasts. Tells both sides about visits newly short and visits now covered.
    Returns (how many were held, the visits left short)."""
    held, short, newly_short, covered = 0, [], [], []
    for visit in visits:
        was = visit.status
        if try_hold_visit(visit, budget, actor):
            held += 1
            if was is VisitStatus.SHORT:
                covered.append(visit)
        else:
            short.append(visit)
            if was is not VisitStatus.SHORT:
                newly_short.append(visit)
    if newly_short:
        tell_both_sides_money_is_short(newly_short)
    if covered:
        tell_both_sides_visits_are_covered(covered)
    return held, short


def cover_short_visits(budget_id: int | None, *, actor: Actor) -> int:
    """Money came back into a budget (a release, a cancellation): hold it for the visits
    that were not covered, earliest first. Its own unit of work, run after the step that
    released the money has committed. Returns how many visits are now covered."""
    if budget_id is None:
        return 0
    waiting = db.session.execute(
        select(func.count(BookingVisit.id))
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .where(Booking.budget_id == budget_id, BookingVisit.status == VisitStatus.SHORT)
    ).scalar_one()
    if not waiting:
        return 0
    from app.services import budgets as budget_service

    with write_transaction():
        # The budget first, as a funding run does, then the visits, then money.
        budget = budget_service.lock_budget(budget_id)
        visits = lock_visits_to_hold(budget, statuses=(VisitStatus.SHORT,))
        held, _ = hold_waiting_visits(budget, visits, actor)
    return held


def tell_both_sides_money_is_short(visits: list[BookingVisit]) -> None:
    """Record on each booking's timeline, and tell both sides, that visits are not covered.
    Runs inside the funding's unit of work."""
    for booking, short in _by_booking(visits):
        when = _listed(short)
        record_event(
            booking,
            "money_short",
            f"Not enough money in the budget for {len(short)} visit{'s' if len(short) != 1 else ''} ({when}). "
            "They stay booked but are not paid for yet: both sides have been told.",
            None,
        )
        booking_notifications.booking_changed(booking, "money_short", f"Visits not covered: {when}.")


def tell_both_sides_visits_are_covered(visits: list[BookingVisit]) -> None:
    """Visits that were not covered now have their money set aside: say so on the timeline
    and tell both sides (the provider may deliver them now)."""
    for booking, covered in _by_booking(visits):
        when = _listed(covered)
        record_event(
            booking,
            "money_covered",
            f"Money is now set aside for {len(covered)} visit{'s' if len(covered) != 1 else ''} that "
            f"{'were' if len(covered) != 1 else 'was'} not covered ({when}).",
            None,
        )
        booking_notifications.booking_changed(booking, "money_covered", f"Now covered: {when}.")


def _by_booking(visits: list[BookingVisit]) -> list[tuple[Booking, list[BookingVisit]]]:
    grouped: dict[int, list[BookingVisit]] = {}
    for visit in visits:
        grouped.setdefault(visit.booking_id, []).append(visit)
    return [(db.session.get(Booking, booking_id), items) for booking_id, items in grouped.items()]


def _listed(visits: list[BookingVisit]) -> str:
    return ", ".join(format_datetime(v.starts_at) for v in visits[:3]) + (" and more" if len(visits) > 3 else "")


# Provider decisions ---------------------------------------------------------------------------


def _transition(booking: Booking, allowed: tuple[BookingStatus, ...], to: BookingStatus, **values) -> None:
    table = Booking.__table__
    changed = db.session.execute(
        update(table)
        .where(table.c.id == booking.id, table.c.status.in_([s.value for s in allowed]))
        .values(status=to.value, updated_at=utcnow(), **values)
    ).rowcount
    if changed != 1:
        db.session.refresh(booking)
        raise InvalidTransition(f"This booking is {booking.status.label.lower()}, so it cannot be {_verb(to)}")
    db.session.expire(booking)


def _verb(status: BookingStatus) -> str:
    return {
        BookingStatus.ACCEPTED: "accepted",
        BookingStatus.DECLINED: "declined",
        BookingStatus.CANCELLED: "cancelled",
        BookingStatus.COMPLETED: "completed",
    }.get(status, status.value)


def accept(booking: Booking, *, by: User, now: dt.datetime | None = None) -> Booking:
    now = now or utcnow()
    with write_transaction():
        booking = lock_booking(booking.id)
        _transition(booking, (BookingStatus.REQUESTED,), BookingStatus.ACCEPTED, decided_at=now)
        record_event(booking, "accepted", f"Accepted by {booking.provider.name}", by, at=now)
        booking_notifications.booking_changed(booking, "accepted")
    return booking


def decline(booking: Booking, *, by: User, reason: str, now: dt.datetime | None = None) -> Booking:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter a reason for declining, so the person can look elsewhere"})
    if len(reason) > MAX_MESSAGE:
        raise ValidationError({"reason": f"The reason must be {MAX_MESSAGE} characters or fewer"})
    now = now or utcnow()
    actor = Actor.person(by)
    with write_transaction():
        booking = lock_booking(booking.id)
        _transition(booking, (BookingStatus.REQUESTED,), BookingStatus.DECLINED, decided_at=now, decline_reason=reason)
        upcoming = [v for v in booking.visits if v.status.is_upcoming]
        _release_places_of(booking, upcoming)
        for visit in upcoming:
            _release_visit(booking, visit, actor, VisitStatus.DECLINED, memo=f"Released: {booking.reference} declined", now=now)
        record_event(booking, "declined", f"Declined by {booking.provider.name}: {reason}", by, at=now)
        booking_notifications.booking_changed(booking, "declined")
    payment_strategy(booking.payment_method).after_commit(booking)
    cover_short_visits(booking.budget_id, actor=actor)
    return booking


def _release_places_of(booking: Booking, visits: list[BookingVisit]) -> None:
    """Give back the places of visits that will not happen: all of them before any money
    moves (capacity before money, the order booking takes them in)."""
    for visit in visits:
        release_places(booking, visit)


def _release_visit(
    booking: Booking, visit: BookingVisit, actor: Actor, new_status: VisitStatus, memo: str, now: dt.datetime | None = None
) -> None:
    """Give back what was set aside for a visit that will not happen (its places are
    already given back), and move it to ``new_status``."""
    now = now or utcnow()
    seen = visit.status
    payment_strategy(booking.payment_method).release(booking, visit, actor=actor, memo=memo, now=now)
    _move_visit(visit, (seen,), new_status, settled_at=now, settled_by_id=actor.user_id)


def withdraw_unpaid(booking: Booking, *, message: str) -> Booking:
    """Undo a booking that could not be paid for when it was made (a declined card):
    every visit cancelled, places given back, nobody charged and the provider not asked."""
    with write_transaction():
        booking = lock_booking(booking.id)
        upcoming = [v for v in booking.visits if v.status.is_upcoming]
        _release_places_of(booking, upcoming)
        for visit in upcoming:
            _move_visit(visit, (visit.status,), VisitStatus.CANCELLED, settled_at=utcnow())
        _transition(booking, (BookingStatus.REQUESTED,), BookingStatus.CANCELLED)
        record_event(booking, "payment_failed", message, None)
    return booking


# Cancelling ----------------------------------------------------------------------------------


@dataclass
class CancellationPlan:
    free: list[BookingVisit] = field(default_factory=list)
    charged: list[BookingVisit] = field(default_factory=list)

    @property
    def charged_pence(self) -> int:
        return sum(v.amount_pence for v in self.charged)


def cancellation_plan(
    booking: Booking, *, policy: Policy, visit_ids: list[int] | None = None, now: dt.datetime | None = None
) -> CancellationPlan:
    """Which upcoming visits would be cancelled free, and which charged (too late to cancel)."""
    now = now or utcnow()
    notice = dt.timedelta(hours=policy.cancellation_notice_hours)
    result = CancellationPlan()
    for visit in booking.visits:
        if not visit.status.is_upcoming or (visit_ids is not None and visit.id not in visit_ids):
            continue
        late = (
            booking.status is BookingStatus.ACCEPTED
            and payment_strategy(booking.payment_method).can_charge_late(visit)
            and visit.starts_at - now < notice
        )
        (result.charged if late else result.free).append(visit)
    return result


class ChargeChanged(Conflict):
    """Cancelling would now charge for visits the person was not shown a charge for."""

    def __init__(self, plan: CancellationPlan):
        self.plan = plan
        super().__init__(
            f"The booking changed while you were cancelling: cancelling now is charged {format_pence(plan.charged_pence)} "
            "for visits inside the notice. Check what will be charged and confirm again"
        )


def cancel(
    booking: Booking,
    *,
    by: User,
    policy: Policy,
    visit_ids: list[int] | None = None,
    now: dt.datetime | None = None,
    charges_seen: list[int] | None = None,
) -> CancellationPlan:
    """Cancel upcoming visits (all of them by default). Free until the notice window;
    inside it, an accepted visit is charged to the budget as the provider was expecting it.

    ``charges_seen``: the visits the person was shown a charge for. If the booking changed
    since (the provider accepted it meanwhile), cancelling would charge for others: nothing
    is cancelled and ChargeChanged says what it would now cost."""
    now = now or utcnow()
    actor = Actor.person(by)
    with write_transaction():
        booking = lock_booking(booking.id)
        if not booking.status.is_open:
            raise InvalidTransition(f"This booking is {booking.status.label.lower()}, so it cannot be cancelled")
        chosen = cancellation_plan(booking, policy=policy, visit_ids=visit_ids, now=now)
        if not chosen.free and not chosen.charged:
            raise ValidationError({"visits": "Select at least one upcoming visit to cancel"})
        if charges_seen is not None and not {v.id for v in chosen.charged} <= set(charges_seen):
            raise ChargeChanged(chosen)
        _release_places_of(booking, chosen.free + chosen.charged)
        for visit in chosen.free:
            _release_visit(
                booking,
                visit,
                actor,
                VisitStatus.CANCELLED,
                memo=f"Released: visit on {format_datetime(visit.starts_at)} cancelled ({booking.reference})",
                now=now,
            )
        strategy = payment_strategy(booking.payment_method)
        for visit in chosen.charged:
            seen = visit.status
            strategy.charge(
                booking,
                visit,
                amount_pence=visit.amount_pence,
                actor=actor,
                now=now,
                memo=f"Late cancellation charge, {booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})",
            )
            _move_visit(visit, (seen,), VisitStatus.LATE_CANCELLED, charged_pence=visit.amount_pence, settled_at=now, settled_by_id=by.id)
        db.session.expire(booking, ["visits"])
        remaining = [v for v in booking.visits if v.status.is_upcoming]
        count = len(chosen.free) + len(chosen.charged)
        message = f"{count} visit{'s' if count != 1 else ''} cancelled by {by.name}"
        if chosen.charged:
            hours = policy.cancellation_notice_hours
            message += f"; {len(chosen.charged)} inside the {hours}-hour notice, charged {format_pence(chosen.charged_pence)}"
        if not remaining:
            _transition(booking, (BookingStatus.REQUESTED, BookingStatus.ACCEPTED), BookingStatus.CANCELLED)
        record_event(booking, "cancelled", message, by, at=now)
        booking_notifications.booking_changed(booking, "cancelled", message + ".")
    payment_strategy(booking.payment_method).after_commit(booking)
    if chosen.free:
        cover_short_visits(booking.budget_id, actor=actor)
    return chosen


# Delivery -------------------------------------------------------------------------------------


def record_delivery(visit: BookingVisit, *, by: User, delivered_units: int | None = None, now: dt.datetime | None = None) -> BookingVisit:
    """The provider records a visit as delivered: its money is captured for them and the
    rest (if fewer units were delivered than booked) released, exactly once."""
    now = now or utcnow()
    visit_id = visit.id
    with write_transaction():
        found = db.session.get(BookingVisit, visit_id)
        if found is None:
            raise NotFound("No such visit")
        booking = lock_booking(found.booking_id)
        visit = db.session.get(BookingVisit, visit_id)
        units = visit.units if delivered_units is None else delivered_units
        if isinstance(units, bool) or not isinstance(units, int) or not (1 <= units <= visit.units):
            raise ValidationError({"delivered_units": f"Enter the {booking.price_unit.value}s delivered, from 1 to {visit.units}"})
        if booking.status is not BookingStatus.ACCEPTED:
            raise InvalidTransition("Accept the booking before recording visits")
        if visit.starts_at > now:
            raise ValidationError({"visit": "You can only record a visit once it has started"})
        if visit.status is VisitStatus.DELIVERED:
            raise Conflict("This visit is already recorded as delivered")
        amount = units * booking.unit_price_pence
        strategy = payment_strategy(booking.payment_method)
        if not strategy.can_deliver(visit):
            raise Conflict(f"This visit cannot be recorded as delivered: {visit.status.label.lower()}")
        seen = visit.status
        try:
            strategy.charge(
                booking,
                visit,
                amount_pence=amount,
                actor=Actor.person(by),
                now=now,
                memo=(
                    f"{booking.service.title} on {format_datetime(visit.starts_at)}: "
                    f"{units} {booking.price_unit.value}{'s' if units != 1 else ''} delivered ({booking.reference})"
                ),
            )
        except HoldAlreadySettled:
            raise Conflict("This visit is already recorded") from None
        _move_visit(visit, (seen,), VisitStatus.DELIVERED, delivered_units=units, charged_pence=amount, settled_at=now, settled_by_id=by.id)
        detail = f"Visit on {format_datetime(visit.starts_at)} delivered ({units} of {visit.units}), {format_pence(amount)} paid"
        record_event(booking, "delivered", detail, by, at=now)
        booking_notifications.booking_changed(booking, "delivered", detail + ".")
        db.session.expire(booking, ["visits"])
        if not any(v.status.is_upcoming for v in booking.visits):
            _transition(booking, (BookingStatus.ACCEPTED,), BookingStatus.COMPLETED)
        released_some = amount < visit.amount_pence
    payment_strategy(booking.payment_method).after_commit(booking)
    if released_some:
        cover_short_visits(booking.budget_id, actor=Actor.person(by))
    return visit


# Invariants for `flask ledger check` ---------------------------------------------------------------


def check_visits_agree_with_holds() -> list[ledger.Problem]:
    """A visit paid from a budget and its holds tell the same story: money is set aside
    (one live hold) exactly when the visit says so, and what was captured from its holds is
    what the visit says was charged."""
    from app.models import HoldStatus, LedgerHold

    live = (
        select(LedgerHold.visit_id.label("visit_id"), func.count().label("live"))
        .where(LedgerHold.status == HoldStatus.HELD)
        .group_by(LedgerHold.visit_id)
        .subquery()
    )
    captured = (
        select(LedgerHold.visit_id.label("visit_id"), func.sum(LedgerHold.captured_pence).label("captured"))
        .group_by(LedgerHold.visit_id)
        .subquery()
    )
    held = VisitStatus.HELD.value
    row = db.session.execute(
        select(
            BookingVisit.id,
            BookingVisit.status,
            func.coalesce(live.c.live, 0),
            func.coalesce(captured.c.captured, 0),
            BookingVisit.charged_pence,
        )
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .outerjoin(live, live.c.visit_id == BookingVisit.id)
        .outerjoin(captured, captured.c.visit_id == BookingVisit.id)
        .where(
            Booking.payment_method == PaymentMethod.BUDGET,
            ((BookingVisit.status == held) & (func.coalesce(live.c.live, 0) != 1))
            | ((BookingVisit.status != held) & (func.coalesce(live.c.live, 0) != 0))
            | (func.coalesce(captured.c.captured, 0) != BookingVisit.charged_pence),
        )
        .order_by(BookingVisit.id)
        .limit(1)
    ).first()
    if row is None:
        return []
    visit_id, status, live_holds, captured_pence, charged = row
    return [
        ledger.Problem(
            "visit status agrees with its hold",
            f"visit {visit_id} is {status.value} with {live_holds} live hold(s), {captured_pence} pence captured and {charged} charged",
        )
    ]


# Reading --------------------------------------------------------------------------------------


def bookings_for_citizen(citizen: User) -> list[Booking]:
    return list(db.session.execute(select(Booking).where(Booking.citizen_id == citizen.id).order_by(Booking.created_at.desc())).scalars())


def bookings_for_provider(provider: Provider, statuses: list[BookingStatus] | None = None) -> list[Booking]:
    query = select(Booking).where(Booking.provider_id == provider.id)
    if statuses:
        query = query.where(Booking.status.in_(statuses))
    return list(db.session.execute(query.order_by(Booking.created_at.desc())).scalars())


def search_bookings(text: str | None = None, *, page: int = 1, per_page: int = 50):
    """Every booking, newest first, for the council: optionally those whose reference,
    citizen (name or email) or provider matches ``text``. A page of them."""
    from sqlalchemy import or_

    from app.services.pagination import paginate

    query = select(Booking).join(User, Booking.citizen_id == User.id).join(Provider, Booking.provider_id == Provider.id)
    text = (text or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Booking.reference.ilike(pattern, escape="\\"),
                User.name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
                Provider.name.ilike(pattern, escape="\\"),
            )
        )
    return paginate(query.order_by(Booking.created_at.desc(), Booking.id.desc()), page, per_page)


def get_booking(public_id: str) -> Booking:
    booking = db.session.execute(select(Booking).where(Booking.public_id == public_id)).scalar_one_or_none()
    if booking is None:
        raise NotFound("No such booking")
    return booking
