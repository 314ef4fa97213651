"""Automatic refunds of money a card paid that is not owed: a visit paid twice, cancelled in
time or declined meanwhile, or paid more than its charge."""

from __future__ import annotations

from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import Booking, BookingVisit, CardPayment, CardRefund, RefundStatus, VisitStatus
from app.services import audit, bookings
from app.services.card_payments import amounts, notices
from app.services.card_payments.new_attempts import refund_attempt
from app.services.card_payments.public_ids import new_public_id


def refund_duplicate(payment: CardPayment, booking: Booking, visit: BookingVisit, amount_pence: int) -> CardRefund:
    """Record (inside the caller's transaction) the automatic refund of money a card paid for
    a visit that was already paid. The money waits in the card clearing account, where the
    card paid it, until Stripe confirms the refund; the refund itself is made by the next
    round of card work (``settle_booking``, ``flask payments retry``), never inside a webhook.
    Idempotent: one per payment."""
    reason, notice = _why_not_owed(payment, visit, amount_pence)
    refund = CardRefund(
        public_id=new_public_id(),
        card_payment_id=payment.id,
        request_key=f"duplicate:{payment.public_id}",
        amount_pence=amount_pence,
        reason=reason,
        status=RefundStatus.PENDING,
        requested_by_id=None,
        automatic=True,
    )
    db.session.add(refund)
    db.session.flush()
    db.session.add(refund_attempt(payment, refund))
    audit.record(
        None,
        "payments.duplicate_refund_started",
        "booking",
        booking.reference,
        after={
            "visit_starts_at": visit.starts_at,
            "amount_pence": amount_pence,
            "card": payment.card.description,
            "payment": payment.public_id,
            "refund": refund.public_id,
        },
        note=reason,
    )
    bookings.record_event(booking, notice, reason, None)
    notices.queue(booking.id, notice)
    return refund


def _why_not_owed(payment: CardPayment, visit: BookingVisit, amount_pence: int) -> tuple[str, str]:
    """The refund's reason, as the people of the booking read it, and the notice they get."""
    when = format_datetime(visit.starts_at)
    paid = f"{payment.card.description} paid {format_pence(amount_pence)} for the visit on {when}"
    if visit.status in (VisitStatus.CANCELLED, VisitStatus.DECLINED):
        why, notice = "declined by the provider" if visit.status is VisitStatus.DECLINED else "cancelled in time", "not_owed_payment"
        reason = f"Not owed: {paid}, which was {why}, so it is given back automatically."
    elif amounts.paid_by_others(payment):
        reason, notice = f"Paid twice: {paid} after it had already been paid, so it is given back automatically.", "duplicate_payment"
    else:
        reason = (
            f"More than owed: {paid}, more than its charge of {format_pence(amounts.amount_due(visit))}, "
            "so the difference is given back automatically."
        )
        notice = "not_owed_payment"
    return reason, notice
