"""What sits in the card clearing account and why (reads only): every refund whose money is
there (in flight, or an automatic refund the card processor refused), with its booking,
card holder, provider, amount, since when and its cause in words, and whatever the card
records cannot explain (a capture matched by no refund: ``flask ledger check`` names it).

The commissioners' card clearing page lists what has waited longer than ``LIST_AFTER``;
``flask ledger check`` warns about what has waited longer than ``WARN_AFTER``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from app.database import utcnow
from app.extensions import db
from app.models import AccountKind, Booking, BookingVisit, CardPayment, CardRefund, LedgerAccount, Provider, RefundStatus, User
from app.services import ledger
from app.services.card_payments.amounts import in_clearing

LIST_AFTER = dt.timedelta(days=1)
WARN_AFTER = dt.timedelta(days=7)


@dataclass(frozen=True)
class ClearingItem:
    refund: CardRefund
    payment: CardPayment
    booking: Booking
    visit: BookingVisit
    card_holder: User
    provider: Provider
    amount_pence: int
    since: dt.datetime
    cause: str
    refused: bool  # an automatic refund the card processor refused: retry it, or settle it another way


@dataclass(frozen=True)
class ClearingSummary:
    items: list[ClearingItem]  # what has waited longer than asked, oldest first
    balance_pence: int  # all the clearing account holds
    explained_pence: int  # of which refunds (of any age) account for
    unmatched_pence: int  # held with no refund to explain it


def cause_of(refund: CardRefund) -> str:
    """Why a refund's money is still in card clearing, in words, from what the card records say."""
    if refund.status is RefundStatus.FAILED:
        return f"Automatic refund refused by the card processor: {refund.failure_message or 'no reason given'} ({refund.reason})"
    if refund.stripe_refund_id is None:
        return "Refund not sent yet: the card processor could not be reached when it was asked for. `flask payments retry` sends it."
    return "Refund accepted by the card processor, waiting for the card holder's bank to confirm it."


def in_card_clearing(older_than: dt.timedelta = LIST_AFTER, *, now: dt.datetime | None = None) -> ClearingSummary:
    """Every amount in card clearing for longer than ``older_than``, oldest first, with the
    account's balance and what no refund explains."""
    cutoff = (now or utcnow()) - older_than
    rows = db.session.execute(
        select(CardRefund, CardPayment, Booking, BookingVisit, User, Provider)
        .join(CardPayment, CardPayment.id == CardRefund.card_payment_id)
        .join(Booking, Booking.id == CardPayment.booking_id)
        .join(BookingVisit, BookingVisit.id == CardPayment.visit_id)
        .join(Provider, Provider.id == Booking.provider_id)
        .join(User, User.id == Booking.citizen_id)
        .where(in_clearing(), CardRefund.created_at < cutoff)
        .order_by(CardRefund.created_at, CardRefund.id)
    ).all()
    items = [
        ClearingItem(
            refund=refund,
            payment=payment,
            booking=booking,
            visit=visit,
            card_holder=payment.card.owner or citizen,
            provider=provider,
            amount_pence=refund.amount_pence,
            since=refund.created_at,
            cause=cause_of(refund),
            refused=refund.status is RefundStatus.FAILED,
        )
        for refund, payment, booking, visit, citizen, provider in rows
    ]
    explained = int(db.session.execute(select(func.coalesce(func.sum(CardRefund.amount_pence), 0)).where(in_clearing())).scalar_one())
    account = db.session.execute(
        select(LedgerAccount).where(LedgerAccount.kind == AccountKind.CARD_CLEARING, LedgerAccount.owner_key == "stripe")
    ).scalar_one_or_none()
    balance = ledger.balance(account) if account is not None else 0
    return ClearingSummary(items=items, balance_pence=balance, explained_pence=explained, unmatched_pence=balance - explained)


def refused_refund(public_id: str) -> CardRefund | None:
    """An automatic refund whose money waits in card clearing, by its public id (else None)."""
    return db.session.execute(select(CardRefund).where(CardRefund.public_id == public_id, in_clearing())).scalar_one_or_none()
