"""Paying for a booking with a saved card: the ``bookings.PaymentStrategy`` for card
bookings (``CARD_PAYMENT``). Visits that start within ``AUTHORISE_WITHIN`` are authorised at
booking; the card work each later step calls for is done after that step commits."""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from app.extensions import db
from app.models import (
    Booking,
    BookingCard,
    BookingStatus,
    BookingVisit,
    CardPayment,
    CardPaymentKind,
    CardPaymentStatus,
    FundingRoute,
    PaymentCard,
    VisitStatus,
)
from app.services import bookings, ledger
from app.services.card_payments import declines, refunds, settings
from app.services.card_payments.cards import owned_card
from app.services.card_payments.errors import CardDeclined, CardPaymentsNotConfigured
from app.services.card_payments.new_attempts import new_payment
from app.services.card_payments.work import settle_booking
from app.services.errors import DomainError, ValidationError

log = logging.getLogger(__name__)


class CardBookingPayment(bookings.PaymentStrategy):
    """Paying for a booking with a saved card (see the package docstring)."""

    def check_request(self, request, *, service, citizen, booker, errors):
        if not settings.is_configured():
            errors["payment"] = str(CardPaymentsNotConfigured())
            return
        routes = [r for r in (FundingRoute.PREPAID_CARD, FundingRoute.SELF_FUNDER) if service.accepts(r)]
        if not routes:
            errors["payment"] = f"{service.provider.name} does not take card payments for this service"
            return
        if request.card_public_id is None:
            return  # a quote before the card is chosen; booking needs one (on_create)
        card = owned_card(request.card_public_id, booker.id)
        if card is None:
            errors["card"] = "Choose one of your saved cards, or add a card"
        elif card.route not in routes:
            if card.route is FundingRoute.PREPAID_CARD:
                errors["card"] = f"{service.provider.name} does not take council prepaid cards for this service. Choose another card"
            else:
                errors["card"] = (
                    f"{service.provider.name} only takes council prepaid cards (direct payments) for this service. Choose your prepaid card"
                )

    def on_create(self, booking, *, request, quote, visits, actor, now):
        if request.card_public_id is None:
            raise ValidationError({"card": "Choose a card to pay with"})
        card = db.session.execute(select(PaymentCard).where(PaymentCard.public_id == request.card_public_id)).scalar_one()
        db.session.add(BookingCard(booking_id=booking.id, card_id=card.id))
        for visit, _planned in visits:
            if visit.starts_at - now <= settings.AUTHORISE_WITHIN:
                new_payment(visit, booking, card, CardPaymentKind.AUTHORISE, visit.amount_pence, key=f"visit:{visit.id}:authorise")

    def after_create(self, booking, *, now=None):
        settle_booking(booking)
        booking = db.session.get(Booking, booking.id)
        failed = (
            db.session.execute(
                select(CardPayment)
                .where(
                    CardPayment.booking_id == booking.id,
                    CardPayment.kind == CardPaymentKind.AUTHORISE,
                    CardPayment.status == CardPaymentStatus.FAILED,
                )
                .order_by(CardPayment.id)
            )
            .scalars()
            .first()
        )
        if failed is None:
            return
        if booking.status is BookingStatus.REQUESTED:
            message = failed.failure_message or declines.decline_message(None, None, failed.amount_pence)
            bookings.withdraw_unpaid(booking, message=f"Not booked: the card payment failed. {message}")
            settle_booking(booking)  # cancel any authorisation that did succeed
        raise CardDeclined(f"Your booking has not been made. {failed.failure_message}")

    def can_charge_late(self, visit):
        return visit.status in (VisitStatus.SCHEDULED, VisitStatus.HELD)

    def can_deliver(self, visit):
        return visit.status in (VisitStatus.SCHEDULED, VisitStatus.HELD)

    def release(self, booking, visit, *, actor, memo, now=None):
        """The authorisation (if any) is cancelled with Stripe after the booking's change
        commits (``after_commit``); its ledger hold is released when Stripe confirms."""

    def charge(self, booking, visit, *, amount_pence, actor, now, memo):
        """Claim the visit (so two deliveries cannot both charge); the card is captured or
        charged after the booking's change commits."""
        table = BookingVisit.__table__
        claimed = db.session.execute(
            update(table)
            .where(table.c.id == visit.id, table.c.status.in_([VisitStatus.SCHEDULED.value, VisitStatus.HELD.value]))
            .values(charged_pence=amount_pence)
        ).rowcount
        if claimed != 1:
            raise ledger.HoldAlreadySettled(f"visit {visit.id} was already settled")
        db.session.expire(visit, ["charged_pence"])

    def take_back(self, booking, visit, *, amount_pence, reason, by, key):
        """What a card paid goes back to the card (a refund taken from the provider)."""
        refunds.refund_visit(visit, amount_pence=amount_pence, reason=reason, by=by, request_key=key)

    def after_commit(self, booking):
        """The booking's change has committed and stands whatever Stripe says: the card work
        it calls for is done now if it can be, and otherwise left recorded for
        ``flask payments retry`` (or marked: a failed charge makes the visit unpaid)."""
        try:
            settle_booking(booking)
        except DomainError as exc:
            db.session.rollback()
            log.warning("card work for booking %s left for `flask payments retry`: %s", booking.id, exc)


CARD_PAYMENT = CardBookingPayment()
