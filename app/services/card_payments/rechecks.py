"""Payments we have given up on that Stripe may still move, read again for a week in case
their webhook never came (``flask payments retry``): a reservation Stripe would not release
(it can still be captured outside the app, in the Stripe dashboard, until it lapses), and an
off-session charge that waited for the card holder's bank (it can still succeed)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import and_, or_, select

from app.database import utcnow
from app.extensions import db
from app.models import AttemptOperation, CardPayment, CardPaymentKind, CardPaymentStatus, PaymentAttempt
from app.services.card_payments import settings
from app.services.card_payments.bank_checks import refresh_payment
from app.services.card_payments.errors import ProcessorRefused, ProcessorUnavailable

log = logging.getLogger(__name__)

RECHECK_WITHIN = dt.timedelta(days=7)  # Stripe lets an uncaptured authorisation lapse within 7 days


def given_up_recently(now: dt.datetime | None = None) -> list[int]:
    """The payments to read again: given up within ``RECHECK_WITHIN`` (by the attempt that
    gave them up), with a PaymentIntent at Stripe."""
    since = (now or utcnow()) - RECHECK_WITHIN
    given_up = or_(
        and_(
            CardPayment.status == CardPaymentStatus.CANCELLED,
            CardPayment.failure_code == "cancel_refused",
            PaymentAttempt.operation == AttemptOperation.CANCEL,
        ),
        and_(
            CardPayment.status == CardPaymentStatus.FAILED,
            CardPayment.kind == CardPaymentKind.CHARGE,
            CardPayment.failure_code == "authentication_required",
            PaymentAttempt.operation == AttemptOperation.PAY,
        ),
    )
    return list(
        db.session.execute(
            select(CardPayment.id)
            .join(PaymentAttempt, PaymentAttempt.card_payment_id == CardPayment.id)
            .where(given_up, PaymentAttempt.finished_at >= since, CardPayment.stripe_payment_intent_id.is_not(None))
            .distinct()
            .order_by(CardPayment.id)
        ).scalars()
    )


def recheck_given_up(now: dt.datetime | None = None) -> int:
    """Read each payment given up recently again from Stripe, and bring it forward if it was
    taken after all (recorded once; refunded automatically if the visit no longer owes it).
    Returns how many changed."""
    if not settings.is_configured():
        return 0
    changed = 0
    for payment_id in given_up_recently(now):
        before = db.session.get(CardPayment, payment_id).status
        try:
            after = refresh_payment(db.session.get(CardPayment, payment_id)).status
        except (ProcessorUnavailable, ProcessorRefused) as exc:
            db.session.rollback()
            log.warning("card payment %s: could not read it again from Stripe (%s)", payment_id, exc)
            continue
        changed += after is not before
    return changed
