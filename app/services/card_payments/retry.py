"""Finishing what was left unfinished (``flask payments retry``, safe to re-run): every
attempt whose outcome was never recorded, the card work of every card booking with a visit
waiting to be paid or released, every payment given up in the last week that Stripe may
still have taken (``rechecks``), and every refund Stripe has not yet said is finished."""

from __future__ import annotations

import logging

from sqlalchemy import select

from app.database import write_transaction
from app.extensions import db
from app.models import AttemptState, Booking, BookingCard, BookingVisit, CardPayment, CardRefund, PaymentAttempt, RefundStatus, VisitStatus
from app.services.card_payments import locks, notices, rechecks, settings, stripe_api
from app.services.card_payments.errors import ProcessorRefused, ProcessorUnavailable
from app.services.card_payments.refund_results import apply_refund_status
from app.services.card_payments.work import settle_booking

log = logging.getLogger(__name__)


def retry_unfinished(progress=None) -> int:
    """Finish every attempt whose outcome was never recorded, and the card work of every
    card booking with a visit waiting to be paid (``flask payments retry``; safe to re-run)."""
    # First, what Stripe did with payments we gave up: money taken after all is recorded,
    # and any automatic refund it calls for is made below with the rest.
    rechecks.recheck_given_up()
    booking_ids = _bookings_with_unfinished_attempts()
    booking_ids |= set(
        db.session.execute(
            select(Booking.id)
            .join(BookingVisit, BookingVisit.booking_id == Booking.id)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .where(
                BookingVisit.status.in_([VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED, VisitStatus.CANCELLED, VisitStatus.DECLINED])
            )
        ).scalars()
    )
    for booking_id in sorted(booking_ids):
        settle_booking(db.session.get(Booking, booking_id))
        if progress:
            progress(1)
    refresh_pending_refunds()
    return len(booking_ids)


def _bookings_with_unfinished_attempts() -> set[int]:
    return set(
        db.session.execute(
            select(CardPayment.booking_id)
            .join(PaymentAttempt, PaymentAttempt.card_payment_id == CardPayment.id)
            .where(PaymentAttempt.state == AttemptState.STARTED)
        ).scalars()
    )


def refresh_pending_refunds() -> int:
    """Ask Stripe how each refund it accepted but had not finished is doing, in case its
    webhook never came; settle the ones that finished. Returns how many changed."""
    if not settings.is_configured():
        return 0
    waiting = (
        db.session.execute(select(CardRefund.id).where(CardRefund.status == RefundStatus.PENDING, CardRefund.stripe_refund_id.is_not(None)))
        .scalars()
        .all()
    )
    changed = 0
    for refund_id in waiting:
        stripe_refund_id = db.session.get(CardRefund, refund_id).stripe_refund_id
        try:
            remote = stripe_api.call(lambda c, refund_id=stripe_refund_id: c.v1.refunds.retrieve(refund_id))
        except (ProcessorUnavailable, ProcessorRefused) as exc:
            log.warning("refund %s: could not ask Stripe about it (%s)", refund_id, exc)
            continue
        with write_transaction():
            refund = locks.lock_refund(refund_id)
            before = refund.status
            apply_refund_status(refund, remote)
            changed += refund.status is not before
        notices.send_queued()
    return changed
