"""The one lock order: a booking, then its visits (``bookings.lock_booking``), then a card
payment (money comes last). Every step that may change a card payment, its visit or its
booking takes its locks through here."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import CardPayment, CardRefund
from app.services import bookings


def locked(model, row_id: int):
    """One row of ``model``, locked for the rest of the unit of work (PostgreSQL: FOR NO KEY
    UPDATE of that table only; SQLite: the unit of work holds the write lock) and read as it
    is now."""
    query = select(model).where(model.id == row_id).with_for_update(of=model, key_share=True)
    return db.session.execute(query.execution_options(populate_existing=True)).scalar_one()


def lock_payment(payment_id: int) -> CardPayment:
    """Inside a unit of work, before anything that may change a card payment, its visit or
    its booking: lock the booking and its visits (``bookings.lock_booking``), then the
    payment (money comes last), the one order every booking step keeps. A webhook, a
    recorded Stripe answer and a cancellation of the same visit then take turns, and each
    decides on what is true now. Returns the payment as it is now."""
    booking_id = db.session.execute(select(CardPayment.booking_id).where(CardPayment.id == payment_id)).scalar_one()
    bookings.lock_booking(booking_id)
    return locked(CardPayment, payment_id)


def lock_refund(refund_id: int) -> CardRefund:
    """Lock a refund's payment (after its booking and visits, as ``lock_payment`` does) and
    read the refund as it is now: Stripe sends two events for one refund's change, and two
    at once must not both move its money."""
    payment_id = db.session.execute(select(CardRefund.card_payment_id).where(CardRefund.id == refund_id)).scalar_one()
    lock_payment(payment_id)
    return db.session.execute(select(CardRefund).where(CardRefund.id == refund_id).execution_options(populate_existing=True)).scalar_one()
