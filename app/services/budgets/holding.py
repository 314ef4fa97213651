"""Setting money aside for booked visits when it comes in (a funding run, money given back):
earliest first while it lasts; visits it cannot cover stay booked, marked short, and both
sides are told either way."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime
from app.models import (
    Booking,
    BookingStatus,
    BookingVisit,
    LedgerHold,
    PaymentMethod,
    PersonalBudget,
    VisitStatus,
)
from app.services import bookings, ledger
from app.services.budgets.accounts import lock_budget, spending_account
from app.services.ledger import Actor, InsufficientFunds


def try_hold_visit(visit: BookingVisit, budget: PersonalBudget, actor: Actor) -> bool:
    """Hold money for a committed visit; mark it short if the budget cannot cover it.
    The caller has locked the visit (``lock_visits_to_hold``)."""
    booking = visit.booking
    attempt = 1 + db.session.execute(select(func.count()).select_from(LedgerHold).where(LedgerHold.visit_id == visit.id)).scalar_one()
    seen = visit.status
    try:
        ledger.place_hold(
            visit_id=visit.id,
            source=spending_account(budget),
            hold=ledger.hold_account(booking),
            amount_pence=visit.amount_pence,
            key=f"hold:visit:{visit.id}:{attempt}",
            actor=actor,
            effective_at=utcnow(),
            memo=f"Set aside for {booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})",
        )
    except InsufficientFunds:
        bookings.move_visit(visit, (seen,), VisitStatus.SHORT)
        return False
    bookings.move_visit(visit, (seen,), VisitStatus.HELD)
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
    visits = [v for v in bookings.lock_visits(query) if v.status in statuses]
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
    with write_transaction():
        # The budget first, as a funding run does, then the visits, then money.
        budget = lock_budget(budget_id)
        visits = lock_visits_to_hold(budget, statuses=(VisitStatus.SHORT,))
        held, _ = hold_waiting_visits(budget, visits, actor)
    return held


def tell_both_sides_money_is_short(visits: list[BookingVisit]) -> None:
    """Record on each booking's timeline, and tell both sides, that visits are not covered.
    Runs inside the funding's unit of work."""
    for booking, short in by_booking(visits):
        when = listed_times(short)
        bookings.record_event(
            booking,
            "money_short",
            f"Not enough money in the budget for {len(short)} visit{'s' if len(short) != 1 else ''} ({when}). "
            "They stay booked but are not paid for yet: both sides have been told.",
            None,
        )
        bookings.booking_changed(booking, "money_short", f"Visits not covered: {when}.")


def tell_both_sides_visits_are_covered(visits: list[BookingVisit]) -> None:
    """Visits that were not covered now have their money set aside: say so on the timeline
    and tell both sides (the provider may deliver them now)."""
    for booking, covered in by_booking(visits):
        when = listed_times(covered)
        bookings.record_event(
            booking,
            "money_covered",
            f"Money is now set aside for {len(covered)} visit{'s' if len(covered) != 1 else ''} that "
            f"{'were' if len(covered) != 1 else 'was'} not covered ({when}).",
            None,
        )
        bookings.booking_changed(booking, "money_covered", f"Now covered: {when}.")


def by_booking(visits: list[BookingVisit]) -> list[tuple[Booking, list[BookingVisit]]]:
    grouped: dict[int, list[BookingVisit]] = {}
    for visit in visits:
        grouped.setdefault(visit.booking_id, []).append(visit)
    return [(db.session.get(Booking, booking_id), items) for booking_id, items in grouped.items()]


def listed_times(visits: list[BookingVisit]) -> str:
    return ", ".join(format_datetime(v.starts_at) for v in visits[:3]) + (" and more" if len(visits) > 3 else "")
