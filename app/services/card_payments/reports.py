"""Reports of card money: a person's card statement (from the ledger) and their refunds in
flight, what was paid by card by route and funding type, and council prepaid card spend by
the citizen it was for."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import (
    AccountKind,
    Booking,
    BookingCard,
    BookingVisit,
    CardFunding,
    CardPayment,
    CardPaymentStatus,
    CardRefund,
    FundingRoute,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    PaymentCard,
    RefundStatus,
    TransactionKind,
    User,
)

# The card statement -------------------------------------------------------------------------


@dataclass(frozen=True)
class CardStatementLine:
    at: dt.datetime
    description: str
    card: str
    authorised_pence: int  # reserved on the card (not taken)
    released_pence: int  # a reservation given back
    paid_pence: int  # taken from the card
    refunded_pence: int  # given back to the card


def card_statement(payer: User, *, starts_at: dt.datetime | None = None, ends_at: dt.datetime | None = None) -> list[CardStatementLine]:
    """The card lines of a person's statement, from the ledger: every movement on their own
    cards, and the card movements for their own bookings that someone else's card paid
    (a representative paying with the citizen's council prepaid card, for example)."""
    own: dict[int, str] = {}
    for card in db.session.execute(select(PaymentCard).where(PaymentCard.owner_id == payer.id)).scalars():
        account_id = _account_of(card)
        if account_id is not None:
            own[account_id] = card.description
    booking_ids = _own_bookings_paid_by_others(payer)
    others = _others_card_accounts(booking_ids, own)
    if not own and not others:
        return []
    query = (
        select(LedgerTransaction, LedgerEntry.account_id, LedgerEntry.amount_pence)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(_statement_entries(own, others, booking_ids))
        .order_by(LedgerTransaction.effective_at, LedgerTransaction.id)
    )
    if starts_at is not None:
        query = query.where(LedgerTransaction.effective_at >= starts_at)
    if ends_at is not None:
        query = query.where(LedgerTransaction.effective_at < ends_at)
    return [
        _statement_line(transaction, own.get(account_id) or others[account_id], amount)
        for transaction, account_id, amount in db.session.execute(query).all()
    ]


def _account_of(card: PaymentCard) -> int | None:
    """The id of the card's ledger account, if it has one yet."""
    return db.session.execute(
        select(LedgerAccount.id).where(LedgerAccount.kind == AccountKind.SELF_FUNDED, LedgerAccount.owner_key == f"card:{card.id}")
    ).scalar_one_or_none()


def _own_bookings_paid_by_others(payer: User) -> list[int]:
    """The payer's own bookings that someone else's card pays."""
    return (
        db.session.execute(
            select(Booking.id)
            .join(BookingCard, BookingCard.booking_id == Booking.id)
            .join(PaymentCard, BookingCard.card_id == PaymentCard.id)
            .where(Booking.citizen_id == payer.id, PaymentCard.owner_id != payer.id)
        )
        .scalars()
        .all()
    )


def _others_card_accounts(booking_ids: list[int], own: dict[int, str]) -> dict[int, str]:
    """The ledger accounts (and how to name them) of the other people's cards those bookings use."""
    others: dict[int, str] = {}
    for link in db.session.execute(select(BookingCard).where(BookingCard.booking_id.in_(booking_ids))).scalars() if booking_ids else []:
        account_id = _account_of(link.card)
        if account_id is not None and account_id not in own:
            others[account_id] = f"{link.card.description} ({link.card.owner.name}'s card)"
    return others


def _statement_entries(own: dict[int, str], others: dict[int, str], booking_ids: list[int]):
    """Which ledger entries are on the statement: all of the payer's own cards' entries, and
    those of other people's cards that belong to the payer's own bookings."""
    conditions = []
    if own:
        conditions.append(LedgerEntry.account_id.in_(list(own)))
    if others:
        visit_ids = select(BookingVisit.id).where(BookingVisit.booking_id.in_(booking_ids))
        refund_ids = (
            select(CardRefund.id)
            .join(CardPayment, CardRefund.card_payment_id == CardPayment.id)
            .where(CardPayment.booking_id.in_(booking_ids))
        )
        conditions.append(
            LedgerEntry.account_id.in_(list(others))
            & or_(
                (LedgerTransaction.cause_type == "booking_visit") & LedgerTransaction.cause_id.in_(visit_ids),
                (LedgerTransaction.cause_type == "card_refund") & LedgerTransaction.cause_id.in_(refund_ids),
            )
        )
    return or_(*conditions)


def _statement_line(transaction: LedgerTransaction, card: str, amount: int) -> CardStatementLine:
    authorised = released = paid = refunded = 0
    if transaction.kind is TransactionKind.HOLD:
        authorised = -amount
    elif transaction.kind is TransactionKind.RELEASE:
        released = amount
    elif transaction.kind is TransactionKind.CARD_PAYMENT:
        paid = -amount
    elif transaction.kind in (TransactionKind.CARD_REFUND, TransactionKind.CORRECTION):
        refunded = amount  # a correction here is a refund the bank sent back (negative)
    return CardStatementLine(transaction.effective_at, transaction.memo, card, authorised, released, paid, refunded)


def pending_refunds_for(person: User) -> list[CardRefund]:
    """Refunds asked for but not yet confirmed by the card processor, on the person's own
    cards or for their own bookings: shown beside the statement until they reach the card."""
    return list(
        db.session.execute(
            select(CardRefund)
            .join(CardPayment, CardRefund.card_payment_id == CardPayment.id)
            .join(PaymentCard, CardPayment.card_id == PaymentCard.id)
            .join(Booking, CardPayment.booking_id == Booking.id)
            .where(CardRefund.status == RefundStatus.PENDING, or_(PaymentCard.owner_id == person.id, Booking.citizen_id == person.id))
            .order_by(CardRefund.created_at)
        ).scalars()
    )


# Card spend -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpendRow:
    route: FundingRoute
    funding: CardFunding
    payments: int
    paid_pence: int
    refunded_pence: int

    @property
    def net_pence(self) -> int:
        return self.paid_pence - self.refunded_pence


def card_spend(*, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[SpendRow]:
    """What was paid by card through the marketplace, by route (council prepaid card or own
    money) and card funding type: what the council's prepaid card holders spend."""
    query = select(
        CardPayment.route,
        CardPayment.funding,
        func.count(CardPayment.id),
        func.coalesce(func.sum(CardPayment.captured_pence), 0),
        func.coalesce(func.sum(CardPayment.refunded_pence), 0),
    ).where(CardPayment.status == CardPaymentStatus.CAPTURED)
    if since is not None:
        query = query.where(CardPayment.updated_at >= since)
    if until is not None:
        query = query.where(CardPayment.updated_at < until)
    rows = db.session.execute(query.group_by(CardPayment.route, CardPayment.funding)).all()
    return [SpendRow(route, funding, int(n), int(paid), int(refunded)) for route, funding, n, paid, refunded in rows]


@dataclass(frozen=True)
class PrepaidSpend:
    """What council prepaid cards paid for one direct-payment recipient (the citizen whose
    care it was), through one card holder (the citizen, or their representative)."""

    citizen: User
    holder: User
    net_pence: int


def prepaid_card_holders_spend() -> list[PrepaidSpend]:
    """Council prepaid card spend, net of refunds, by the citizen it was for (the direct
    payment's recipient) and the card holder who paid."""
    rows = db.session.execute(
        select(
            Booking.citizen_id, PaymentCard.owner_id, func.coalesce(func.sum(CardPayment.captured_pence - CardPayment.refunded_pence), 0)
        )
        .join(CardPayment, CardPayment.card_id == PaymentCard.id)
        .join(Booking, CardPayment.booking_id == Booking.id)
        .where(
            CardPayment.status == CardPaymentStatus.CAPTURED,
            or_(PaymentCard.route == FundingRoute.PREPAID_CARD, CardPayment.funding == CardFunding.PREPAID),
        )
        .group_by(Booking.citizen_id, PaymentCard.owner_id)
    ).all()
    return [
        PrepaidSpend(db.session.get(User, citizen_id), db.session.get(User, owner_id), int(total)) for citizen_id, owner_id, total in rows
    ]
