"""Cancelling visits: free until the council's notice, charged inside it once the provider
has accepted; the person sees the charge before it is taken."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    Booking,
    BookingStatus,
    BookingVisit,
    User,
    VisitStatus,
)
from app.services.bookings import notify
from app.services.bookings.payment import payment_strategy
from app.services.bookings.release import release_places_of, release_visit
from app.services.bookings.states import lock_booking, move_visit, transition
from app.services.bookings.timeline import record_event
from app.services.errors import Conflict, InvalidTransition, ValidationError
from app.services.ledger import Actor
from app.services.policy import Policy


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
        release_places_of(booking, chosen.free + chosen.charged)
        strategy = payment_strategy(booking.payment_method)
        _cancel_visits(booking, chosen, strategy, by=by, now=now)
        db.session.expire(booking, ["visits"])
        message = _what_was_cancelled(chosen, by, policy)
        if not any(v.status.is_upcoming for v in booking.visits):
            transition(booking, (BookingStatus.REQUESTED, BookingStatus.ACCEPTED), BookingStatus.CANCELLED)
        record_event(booking, "cancelled", message, by, at=now)
        notify.booking_changed(booking, "cancelled", message + ".")
    strategy.after_commit(booking)
    if chosen.free:
        strategy.after_money_back(booking, actor=actor)
    return chosen


def _cancel_visits(booking: Booking, chosen: CancellationPlan, strategy, *, by: User, now: dt.datetime) -> None:
    """Inside the unit of work: give back the free visits' money, charge the late ones."""
    actor = Actor.person(by)
    for visit in chosen.free:
        release_visit(
            booking,
            visit,
            actor,
            VisitStatus.CANCELLED,
            memo=f"Released: visit on {format_datetime(visit.starts_at)} cancelled ({booking.reference})",
            now=now,
        )
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
        move_visit(visit, (seen,), VisitStatus.LATE_CANCELLED, charged_pence=visit.amount_pence, settled_at=now, settled_by_id=by.id)


def _what_was_cancelled(chosen: CancellationPlan, by: User, policy: Policy) -> str:
    count = len(chosen.free) + len(chosen.charged)
    message = f"{count} visit{'s' if count != 1 else ''} cancelled by {by.name}"
    if chosen.charged:
        hours = policy.cancellation_notice_hours
        message += f"; {len(chosen.charged)} inside the {hours}-hour notice, charged {format_pence(chosen.charged_pence)}"
    return message
