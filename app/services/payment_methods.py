"""The ways a booking can be paid, registered with bookings once at start-up (``create_app``).

Bookings know only the ``PaymentStrategy`` interface; budgets and card payments each
implement it. Registering them here, above all three, keeps bookings from importing either.
"""

from __future__ import annotations

from app.models import PaymentMethod
from app.services import bookings, budgets, card_payments


def register() -> None:
    bookings.register_payment_method(PaymentMethod.BUDGET, budgets.BUDGET_PAYMENT)
    bookings.register_payment_method(PaymentMethod.CARD, card_payments.CARD_PAYMENT)
