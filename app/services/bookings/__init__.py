"""Booking a service: plan, book, accept or decline, cancel, record delivery.

Every state change is one unit of work (``write_transaction``). Money moves only through
``app.services.ledger``, by the way the booking is paid (``payment``: a personal budget or
a card, registered at start-up): set aside for each visit when the booking is made,
captured when the provider records the visit as delivered (or cancelled too late),
released when it is declined, cancelled in time or left unanswered too long (it expires). Every step locks the booking, then its
visits, then capacity, then money (``states``), and changes a status only with a
conditional update, so of two people changing the same thing at once exactly one wins.

Modules:
  requests     what a person asks for, what its way of paying makes of it, and the quote
  timing       when a service can be booked: hours, closed days, dates of a series
  planning     checking a request and working out its visits and cost (writes nothing)
  payment      the interface each way of paying implements, and their registry
  creation     making a booking, once per request key
  capacity     places per time cell, taken and given back with conditional updates
  states       the booking and visit state machines and the one lock order
  release      giving back a visit's places and money when it will not happen
  decisions    the provider accepts or declines; withdrawing a booking that was not paid for
  expiry       requests the provider never answered expire, their money released as on a decline
  alternatives other services that could take an expired request's visits, in search's order
  cancelling   cancelling visits, free or charged inside the notice
  delivery     recording a visit as delivered
  timeline     the booking's timeline
  notify       telling both sides what happened
  queries      finding bookings

Other packages use the names below; modules in this package import each other directly.
"""

from app.services.bookings.alternatives import alternatives_for
from app.services.bookings.cancelling import CancellationPlan, ChargeChanged, cancel, cancellation_plan
from app.services.bookings.capacity import capacity_cells, release_places, take_places
from app.services.bookings.creation import create, find_by_request_key
from app.services.bookings.decisions import accept, decline, withdraw_unpaid
from app.services.bookings.delivery import after_payment, complete_if_done, lock_visit_for_recording, pay_for_visit, record_delivery
from app.services.bookings.expiry import expire_unanswered
from app.services.bookings.notify import booking_changed, notify_booking_change
from app.services.bookings.payment import PaymentStrategy, payment_strategy, register_payment_method
from app.services.bookings.planning import MAX_DAYS_AHEAD, MAX_MESSAGE, MAX_UNITS, MAX_WEEKS, listed_service, plan
from app.services.bookings.queries import (
    bookings_for_citizen,
    bookings_for_provider,
    clashes,
    get_booking,
    made_by,
    people_to_contact,
    provider_sees_contact,
    search_bookings,
)
from app.services.bookings.release import release_visit
from app.services.bookings.requests import BookingRequest, Funding, PlannedVisit, Quote
from app.services.bookings.states import VISIT_MOVES, lock_booking, lock_visits, move_visit, try_move_visit
from app.services.bookings.timeline import record_event
from app.services.facade import seal

__all__ = [
    "MAX_DAYS_AHEAD",
    "MAX_MESSAGE",
    "MAX_UNITS",
    "MAX_WEEKS",
    "VISIT_MOVES",
    "BookingRequest",
    "CancellationPlan",
    "ChargeChanged",
    "Funding",
    "PaymentStrategy",
    "PlannedVisit",
    "Quote",
    "accept",
    "after_payment",
    "alternatives_for",
    "booking_changed",
    "bookings_for_citizen",
    "bookings_for_provider",
    "cancel",
    "cancellation_plan",
    "capacity_cells",
    "clashes",
    "complete_if_done",
    "create",
    "decline",
    "expire_unanswered",
    "find_by_request_key",
    "get_booking",
    "listed_service",
    "lock_booking",
    "lock_visit_for_recording",
    "lock_visits",
    "made_by",
    "move_visit",
    "notify_booking_change",
    "pay_for_visit",
    "payment_strategy",
    "people_to_contact",
    "plan",
    "provider_sees_contact",
    "record_delivery",
    "record_event",
    "register_payment_method",
    "release_places",
    "release_visit",
    "search_bookings",
    "take_places",
    "try_move_visit",
    "withdraw_unpaid",
]

seal(__name__)
