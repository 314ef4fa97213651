"""What a visit owes, and what its card payments have paid or may still give back (reads
only)."""

from __future__ import annotations

from sqlalchemy import exists, func, or_, select

from app.extensions import db
from app.models import (
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    ClearingSettlement,
    ClearingSettlementKind,
    RefundStatus,
    VisitStatus,
)


def in_clearing():
    """The refunds whose money sits in the card clearing account: in flight, or automatic
    refunds the card processor would not make that the council has not settled yet."""
    settled = exists().where(ClearingSettlement.refund_id == CardRefund.id)
    refused = (CardRefund.status == RefundStatus.FAILED) & CardRefund.automatic.is_(True) & ~settled
    return or_(CardRefund.status == RefundStatus.PENDING, refused)


def amount_owed(visit: BookingVisit) -> int:
    paid = db.session.execute(
        select(func.coalesce(func.sum(CardPayment.captured_pence), 0)).where(CardPayment.visit_id == visit.id)
    ).scalar_one()
    return max(0, visit.charged_pence - int(paid))


def amount_due(visit: BookingVisit) -> int:
    """What the card must pay for a visit: what was charged for it once delivered or
    cancelled late, otherwise its booked price."""
    if visit.status in (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED, VisitStatus.UNPAID):
        return visit.charged_pence
    if visit.status in (VisitStatus.CANCELLED, VisitStatus.DECLINED):
        return 0  # cancelled in time or declined: nothing is owed for it
    return visit.amount_pence


def paid_by_others(payment: CardPayment) -> int:
    """What the visit's other card payments passed on to the provider (their captures less
    what was refunded automatically because a card paid twice)."""
    others = (
        db.session.execute(
            select(CardPayment).where(
                CardPayment.visit_id == payment.visit_id, CardPayment.id != payment.id, CardPayment.status == CardPaymentStatus.CAPTURED
            )
        )
        .scalars()
        .all()
    )
    if not others:
        return 0
    kept = exists().where(ClearingSettlement.refund_id == CardRefund.id, ClearingSettlement.kind == ClearingSettlementKind.OWED_AFTER_ALL)
    duplicates = db.session.execute(
        select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(
            CardRefund.card_payment_id.in_([p.id for p in others]), CardRefund.automatic.is_(True), ~kept
        )
    ).scalar_one()
    return sum(p.captured_pence for p in others) - int(duplicates)


def refundable_pence(payment: CardPayment) -> int:
    """What may still be refunded from a payment: what it took, less refunds made (by the card
    processor, or repaid another way) or in flight, and less any automatic refund of money
    not owed that is still waiting in card clearing."""
    held_back = db.session.execute(
        select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(CardRefund.card_payment_id == payment.id, in_clearing())
    ).scalar_one()
    return payment.captured_pence - payment.refunded_pence - int(held_back)
