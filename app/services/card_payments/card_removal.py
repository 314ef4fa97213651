"""Removing a saved card: refused while a booking still needs it (visits to come, or a payment
under way on it); then it is no longer offered, and Stripe is told to forget it."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import Booking, BookingCard, BookingStatus, BookingVisit, CardPayment, CardPaymentStatus, PaymentCard, User, VisitStatus
from app.services import audit
from app.services.card_payments import stripe_api
from app.services.card_payments.cards import get_card
from app.services.card_payments.errors import ProcessorRefused, ProcessorUnavailable
from app.services.errors import Conflict

log = logging.getLogger(__name__)

OPEN_PAYMENTS = [s for s in CardPaymentStatus if s.is_open]


def booking_needing(card: PaymentCard) -> Booking | None:
    """A booking this card still has to pay for: one going ahead with visits to come, or
    with a payment on the card not finished yet."""
    upcoming = (
        db.session.execute(
            select(Booking)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .join(BookingVisit, BookingVisit.booking_id == Booking.id)
            .where(
                BookingCard.card_id == card.id,
                Booking.status.in_([BookingStatus.REQUESTED, BookingStatus.ACCEPTED]),
                BookingVisit.status.in_([VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT]),
            )
            .order_by(Booking.id)
        )
        .scalars()
        .first()
    )
    if upcoming is not None:
        return upcoming
    return (
        db.session.execute(
            select(Booking)
            .join(CardPayment, CardPayment.booking_id == Booking.id)
            .where(CardPayment.card_id == card.id, CardPayment.status.in_(OPEN_PAYMENTS))
            .order_by(Booking.id)
        )
        .scalars()
        .first()
    )


def remove_card(public_id: str, *, owner: User) -> PaymentCard:
    """The card's owner removes it. Conflict names the booking that still needs it."""
    card = get_card(public_id, owner=owner)
    booking = booking_needing(card)
    if booking is not None:
        raise Conflict(
            f"This card still pays for booking {booking.reference}. Cancel its visits to come, or wait until they have been "
            "delivered and paid for, before you remove the card."
        )
    with write_transaction():
        removed = db.session.execute(
            update(PaymentCard).where(PaymentCard.id == card.id, PaymentCard.removed_at.is_(None)).values(removed_at=utcnow())
        ).rowcount
        if removed:
            audit.record(owner, "payments.card_removed", "payment_card", card.id, before={"card": card.description})
    try:
        stripe_api.call(lambda c: c.v1.payment_methods.detach(card.stripe_payment_method_id))
    except (ProcessorUnavailable, ProcessorRefused) as exc:
        # The card is no longer offered or charged here whatever Stripe says; it keeps a
        # copy it will not use.
        log.warning("could not detach payment method of card %s at Stripe: %s", card.id, exc)
    return db.session.get(PaymentCard, card.id)
