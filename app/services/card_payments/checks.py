"""The card side of ``flask ledger check``: the clearing account holds only refunds in
flight, each card's ledger account matches its payments, and every delivered card visit is
paid, marked unpaid or being paid."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import (
    AccountKind,
    AttemptState,
    Booking,
    BookingCard,
    BookingVisit,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    LedgerAccount,
    PaymentAttempt,
    PaymentCard,
    RefundStatus,
    VisitStatus,
)
from app.services import ledger


def check_cards() -> list[ledger.Problem]:
    """The card side of `flask ledger check`: clearing, each card's account, delivered visits collected."""
    problems = _check_clearing()
    problems.extend(_check_delivered_card_visits())
    problems.extend(_check_card_accounts())
    return problems


def _check_clearing() -> list[ledger.Problem]:
    clearing = db.session.execute(
        select(LedgerAccount).where(LedgerAccount.kind == AccountKind.CARD_CLEARING, LedgerAccount.owner_key == "stripe")
    ).scalar_one_or_none()
    # Refunds in flight, and automatic refunds (a visit paid twice) Stripe would not make:
    # that money never reached a provider and is owed to the card holder.
    pending = int(
        db.session.execute(
            select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(
                or_(CardRefund.status == RefundStatus.PENDING, (CardRefund.status == RefundStatus.FAILED) & CardRefund.automatic.is_(True))
            )
        ).scalar_one()
    )
    in_clearing = ledger.balance(clearing) if clearing is not None else 0
    if in_clearing != pending:
        return [
            ledger.Problem(
                "card clearing holds only refunds in flight", f"clearing holds {in_clearing} but pending refunds total {pending}"
            )
        ]
    return []


def _check_card_accounts() -> list[ledger.Problem]:
    """Each card's account shows what its payments took (less refunds) and still reserve;
    the first card that does not is reported."""
    cards = db.session.execute(select(PaymentCard)).scalars().all()
    for card in cards:
        account = db.session.execute(
            select(LedgerAccount).where(LedgerAccount.kind == AccountKind.SELF_FUNDED, LedgerAccount.owner_key == f"card:{card.id}")
        ).scalar_one_or_none()
        in_ledger = -ledger.balance(account) if account is not None else 0
        payments = db.session.execute(select(CardPayment).where(CardPayment.card_id == card.id)).scalars().all()
        expected = sum(
            p.captured_pence - p.refunded_pence + (p.amount_pence if p.status is CardPaymentStatus.AUTHORISED else 0) for p in payments
        )
        if in_ledger != expected:
            return [
                ledger.Problem(
                    "card ledger matches card payments",
                    f"card {card.public_id}: the ledger shows {in_ledger} taken or reserved, its payments {expected}",
                )
            ]
    return []


def _check_delivered_card_visits() -> list[ledger.Problem]:
    """Every delivered (or late-cancelled) visit of a card booking is paid by card, or is
    marked unpaid (so someone is asked to pay it), or has card work still under way (an
    attempt not finished: `flask payments retry` finishes it). Anything else is money owed
    that nobody is collecting."""
    rows = db.session.execute(
        select(BookingVisit.id, BookingVisit.charged_pence, Booking.reference)
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .join(BookingCard, BookingCard.booking_id == Booking.id)
        .where(BookingVisit.status.in_([VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED]))
        .order_by(BookingVisit.id)
    ).all()
    for visit_id, due, reference in rows:
        captured = int(
            db.session.execute(
                select(func.coalesce(func.sum(CardPayment.captured_pence), 0)).where(CardPayment.visit_id == visit_id)
            ).scalar_one()
        )
        if captured >= due:
            continue
        in_flight = db.session.execute(
            select(PaymentAttempt.id)
            .join(CardPayment, PaymentAttempt.card_payment_id == CardPayment.id)
            .where(CardPayment.visit_id == visit_id, PaymentAttempt.state == AttemptState.STARTED)
            .limit(1)
        ).scalar_one_or_none()
        if in_flight is None:
            return [
                ledger.Problem(
                    "a delivered card visit is paid, marked unpaid or being paid",
                    f"visit {visit_id} of {reference}: {due} due, {captured} paid by card, not marked unpaid and no card work under way",
                )
            ]
    return []
