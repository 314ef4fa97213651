"""Reading a booking's card payments, refunds and card (for the booking pages)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingCard, CardPayment, CardRefund, PaymentCard


def payments_for_booking(booking: Booking) -> list[CardPayment]:
    return list(db.session.execute(select(CardPayment).where(CardPayment.booking_id == booking.id).order_by(CardPayment.id)).scalars())


def booking_card(booking: Booking) -> PaymentCard | None:
    link = db.session.get(BookingCard, booking.id)
    return link.card if link else None


def refunds_for_booking(booking: Booking) -> list[CardRefund]:
    return list(
        db.session.execute(
            select(CardRefund)
            .join(CardPayment, CardRefund.card_payment_id == CardPayment.id)
            .where(CardPayment.booking_id == booking.id)
            .order_by(CardRefund.id)
        ).scalars()
    )
