"""Making a booking: capacity, money and the request to the provider in one unit of work,
once per request key."""

from __future__ import annotations

import datetime as dt
import secrets
from functools import cache

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from app.database import insert_together, utcnow, write_transaction
from app.extensions import db
from app.formatting import format_pence
from app.models import (
    Booking,
    BookingStatus,
    BookingVisit,
    Service,
    TurnedAwayRequest,
    User,
)
from app.services import geo
from app.services.bookings.capacity import FullyBooked, take_places_for_visits
from app.services.bookings.notify import announce_request, booking_changed
from app.services.bookings.payment import PaymentStrategy, payment_strategy
from app.services.bookings.planning import plan
from app.services.bookings.requests import BookingRequest, PlannedVisit, Quote
from app.services.bookings.timeline import EVENTS, describe, event_row
from app.services.errors import Conflict, DomainError, ValidationError
from app.services.ledger import Actor
from app.services.policy import Policy
from app.services.text import clean_multiline

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def _new_reference() -> str:
    return "BK-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def find_by_request_key(key: str) -> Booking | None:
    return db.session.execute(select(Booking).where(Booking.request_key == key)).scalar_one_or_none()


def create(request: BookingRequest, *, citizen: User, booker: User, policy: Policy, now: dt.datetime | None = None) -> Booking:
    """Make the booking, take capacity and hold the money for funded periods, in one step.

    Idempotent on ``request.request_key``: a retry returns the first booking. The key's
    unique index is the guard, so a new request does not look for it first: a retry fails
    on it (waiting for a first try still in flight), or before it, its plan refused now
    that the first booking has taken the money or the time; either way the key is then
    looked up and the first booking returned.
    """
    try:
        booking = _create(request, citizen=citizen, booker=booker, policy=policy, now=now)
    except FullyBooked:  # after the booking was added: its key was new
        _record_turned_away(request, now)
        raise
    except (IntegrityError, DomainError):
        db.session.rollback()
        existing = find_by_request_key(request.request_key)
        if existing is None:
            raise
        return _retried(existing, booker, now)
    # Work that talks to a card processor happens after the booking is saved, never
    # inside the database transaction; it may undo the booking (a declined card).
    strategy = payment_strategy(request.payment_method)
    strategy.after_create(booking, now=now)
    if not strategy.tells_at_once():  # otherwise both sides were told as it was saved
        announce_request(booking)
    return booking


def _record_turned_away(request: BookingRequest, now: dt.datetime | None) -> None:
    """Count a request the service had no room for, with no trace of who asked: where people
    are turned away is the unmet demand commissioners most need to see."""
    with write_transaction():
        service = db.session.get(Service, request.service_id)
        if service is not None:
            db.session.add(
                TurnedAwayRequest(
                    at=now or utcnow(),
                    service_id=service.id,
                    category_id=service.category_id,
                    district=geo.district_in_text(request.visit_address) or service.provider.base_district,
                )
            )


def _retried(existing: Booking, booker: User, now: dt.datetime | None) -> Booking:
    """The same request again: the first booking, with whatever the first try left
    unfinished done now (card authorisations, telling both sides after a crash)."""
    booking = _same_requester(existing, booker)
    payment_strategy(booking.payment_method).after_create(booking, now=now)
    announce_request(booking)
    return booking


def _same_requester(booking: Booking, booker: User) -> Booking:
    if booking.booked_by_id != booker.id:
        raise Conflict("That booking request was already used")
    return booking


def _create(request: BookingRequest, *, citizen: User, booker: User, policy: Policy, now: dt.datetime | None) -> Booking:
    now = now or utcnow()
    strategy = payment_strategy(request.payment_method)
    with write_transaction():
        strategy.begin(request)
        # Plan again inside the write transaction: prices and funding as they are now.
        quote = plan(request, citizen=citizen, policy=policy, now=now, booker=booker)
        if request.expected_total_pence is not None and request.expected_total_pence != quote.total_pence:
            raise ValidationError(
                {"total": f"The price has changed: the total is now {format_pence(quote.total_pence)}. Check the details and confirm again"}
            )
        # Nothing can undo a booking paid this way once it commits: both sides are told in
        # the same unit of work (marked told as it is saved), so the notice is never lost
        # nor sent twice.
        tell_now = strategy.tells_at_once()
        booking = _new_booking(request, quote, citizen=citizen, booker=booker, now=now, told=tell_now)
        visits = list(zip(_new_visits(booking, quote.visits, strategy), quote.visits, strict=True))
        take_places_for_visits(quote.service, [visit for visit, _ in visits])
        strategy.on_create(booking, request=request, quote=quote, visits=visits, actor=Actor.person(booker), now=now)
        event = event_row(booking, "requested", f"Booking requested by {booker.name}: {describe(booking, len(visits))}", booker, at=now)
        if tell_now:
            booking_changed(booking, "requested", also=[(EVENTS, [event])])  # the timeline's line written with the notices
        else:
            insert_together([(EVENTS, [event])])
    return booking


def _new_booking(request: BookingRequest, quote: Quote, *, citizen: User, booker: User, now: dt.datetime, told: bool) -> Booking:
    service = quote.service
    values = {
        "created_at": now,  # when it was asked for (business time)
        "public_id": secrets.token_urlsafe(12),
        "reference": _new_reference(),
        "request_key": request.request_key,
        "service_id": service.id,
        "provider_id": service.provider_id,
        "citizen_id": citizen.id,
        "booked_by_id": booker.id,
        "budget_id": quote.budget.id if quote.budget else None,
        "outcome_id": quote.outcome.id if quote.outcome else None,
        "payment_method": request.payment_method,
        "schedule": request.schedule,
        "unit_price_pence": quote.unit_price_pence,
        "price_unit": service.price_unit,
        "total_pence": quote.total_pence,
        "status": BookingStatus.REQUESTED,
        "message": (request.message or "").strip(),
        "visit_address": clean_multiline(request.visit_address),
        "contact_phone": (request.contact_phone or "").strip(),
        "area_district": geo.district_in_text(request.visit_address) or service.provider.base_district,
        "requested_notified_at": utcnow() if told else None,
    }
    # Written at once, and loaded back as the booking (a duplicate request key fails here).
    return db.session.scalars(_insert_booking(), [values]).one()


def _new_visits(booking: Booking, planned: list[PlannedVisit], strategy: PaymentStrategy) -> list[BookingVisit]:
    """The booking's visits, written in one statement and loaded back in the order planned."""
    rows = [
        {
            "booking_id": booking.id,
            "starts_at": visit.starts_at,
            "ends_at": visit.ends_at,
            "units": visit.units,
            "amount_pence": visit.amount_pence,
            "status": strategy.new_visit_status(visit),
        }
        for visit in planned
    ]
    return list(db.session.scalars(_insert_visits(), rows))


# The booking and its visits are written by these inserts, each returning what it wrote as
# ORM objects, built once per process. Written this way, not added to the session, they fire
# no flush events (``after_flush``, ``before_insert``): nothing listens for new bookings or
# visits today, and a hook that must see them has to be called from here.
@cache
def _insert_booking():
    return insert(Booking).returning(Booking)


@cache
def _insert_visits():
    """Returning the visits in the order given."""
    return insert(BookingVisit).returning(BookingVisit, sort_by_parameter_order=True)
