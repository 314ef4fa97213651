"""Card payments in the demo's history, recorded without Stripe.

Card bookings in history go through the real booking services (requested, accepted,
delivered, cancelled late...), but the card processor is not running while the demo
loads, and a past moment cannot be charged anyway. So for the length of the history step
card bookings are paid by ``HistoricCardPayment`` (``card_payments_recorded``): each
charge is recorded as the real card work leaves a charge that succeeded: a CHARGE
``CardPayment`` CAPTURED in full, its PAY attempt SUCCEEDED, and the same two ledger
movements as ``card_payments.intents._post_capture`` (the card's account to card
clearing, then clearing to what is owed to the provider, caused by the visit), dated when
the visit was delivered or cancelled late. The payment names a PaymentIntent that
Stripe never saw (``pi_demohistory_...``): a refund asked for later is refused by the card
processor, and the refund page says so; the money goes back to the provider.
"""

from __future__ import annotations

import datetime as dt
import secrets
from contextlib import contextmanager

from sqlalchemy import select

from app.extensions import db
from app.formatting import format_datetime
from app.models import (
    AttemptOperation,
    AttemptState,
    BookingCard,
    CardCustomer,
    CardFunding,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    FundingRoute,
    PaymentAttempt,
    PaymentCard,
    PaymentMethod,
    TransactionKind,
    User,
)
from app.services import bookings, card_payments, ledger
from app.services.ledger import Actor

FAKE_INTENT = "pi_demohistory_"


class HistoricCardPayment(card_payments.CardBookingPayment):
    """A card booking of the past: charges recorded as already taken (see the module)."""

    def check_request(self, request, *, service, citizen, booker, errors):
        card = db.session.execute(select(PaymentCard).where(PaymentCard.public_id == request.card_public_id)).scalar_one_or_none()
        if card is None or card.owner_id != booker.id or not service.accepts(card.route):
            errors["card"] = "This card cannot pay for this service"

    def on_create(self, booking, *, request, quote, visits, actor, now):
        card = db.session.execute(select(PaymentCard).where(PaymentCard.public_id == request.card_public_id)).scalar_one()
        db.session.add(BookingCard(booking_id=booking.id, card_id=card.id, created_at=now))

    def tells_at_once(self):
        return True  # nothing (no card authorisation) can undo the booking once it is saved

    def after_create(self, booking, *, now=None):
        """No card work: the charges are taken when visits are delivered."""

    def release(self, booking, visit, *, actor, memo, now=None):
        """Nothing was reserved on the card, so nothing is released."""

    def charge(self, booking, visit, *, amount_pence, actor, now, memo):
        card = db.session.get(BookingCard, booking.id).card
        payment = CardPayment(
            public_id=secrets.token_urlsafe(12),
            visit_id=visit.id,
            booking_id=booking.id,
            card_id=card.id,
            kind=CardPaymentKind.CHARGE,
            status=CardPaymentStatus.CAPTURED,
            funding=card.funding,
            route=card.route,
            amount_pence=amount_pence,
            captured_pence=amount_pence,
            created_at=now,
            updated_at=now,
        )
        payment.stripe_payment_intent_id = FAKE_INTENT + payment.public_id
        db.session.add(payment)
        db.session.flush()
        db.session.add(
            PaymentAttempt(
                key=f"visit:{visit.id}:charge",
                operation=AttemptOperation.PAY,
                state=AttemptState.SUCCEEDED,
                card_payment_id=payment.id,
                amount_pence=amount_pence,
                stripe_object_id=payment.stripe_payment_intent_id,
                tries=1,
                created_at=now,
                finished_at=now,
            )
        )
        _post_charge(payment, card, booking, visit, now)

    def after_commit(self, booking):
        """No card work is left over."""


def _post_charge(payment: CardPayment, card: PaymentCard, booking, visit, now: dt.datetime) -> None:
    """The ledger legs of a charge that succeeded, as the real capture posts them."""
    system = Actor.system("card payments")
    memo = f"{booking.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})"
    amount = payment.amount_pence
    ledger.post(
        TransactionKind.CARD_PAYMENT,
        [(card_payments.card_account(card), -amount), (card_payments.clearing_account(), amount)],
        key=f"card-payment:{payment.id}:charged",
        cause=("booking_visit", visit.id),
        actor=system,
        effective_at=now,
        memo=f"Charged to {card.description}: {memo}",
    )
    ledger.post(
        TransactionKind.CAPTURE,
        [(card_payments.clearing_account(), -amount), (ledger.provider_payable_account(booking.provider), amount)],
        key=f"card-payment:{payment.id}:to-provider",
        cause=("booking_visit", visit.id),
        actor=system,
        effective_at=now,
        memo=f"Paid by card: {memo}",
    )


@contextmanager
def card_payments_recorded():
    """Card bookings are paid by ``HistoricCardPayment`` inside, by the real way after."""
    real = bookings.payment_strategy(PaymentMethod.CARD)
    bookings.register_payment_method(PaymentMethod.CARD, HistoricCardPayment())
    try:
        yield
    finally:
        bookings.register_payment_method(PaymentMethod.CARD, real)


def save_card(person: User, n: int, route: FundingRoute, saved_at: dt.datetime) -> PaymentCard:
    """The card a person of the history pays with: their council prepaid card (a direct
    payment) or their own debit or credit card. Stripe never saw it."""
    prepaid = route is FundingRoute.PREPAID_CARD
    if db.session.execute(select(CardCustomer.id).where(CardCustomer.user_id == person.id)).first() is None:
        db.session.add(CardCustomer(user_id=person.id, stripe_customer_id=f"cus_demohistory_{n:02d}", created_at=saved_at))
    card = PaymentCard(
        public_id=secrets.token_urlsafe(12),
        owner_id=person.id,
        stripe_payment_method_id=f"pm_demohistory_{n:02d}",
        brand="mastercard" if prepaid or n % 3 == 0 else "visa",
        last4=f"{(n * 7919) % 10000:04d}",
        exp_month=1 + n % 12,
        exp_year=2028 + n % 3,
        funding=CardFunding.PREPAID if prepaid else (CardFunding.CREDIT if n % 4 == 0 else CardFunding.DEBIT),
        route=route,
        created_at=saved_at,
    )
    db.session.add(card)
    db.session.flush()
    return card
