"""Card payments through Stripe: saved cards, payments per visit, refunds, the
de-duplication record of every request we make to Stripe, and the webhook events we
have received.

Money itself lives only in the ledger; these tables say what Stripe was asked to do and
what it answered, so that nothing is charged twice and nothing owed is lost.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import TimestampMixin, enum_column
from app.models.services import FundingRoute


class CardFunding(str, enum.Enum):
    """What kind of card, as the card network reports it."""

    CREDIT = "credit"
    DEBIT = "debit"
    PREPAID = "prepaid"  # e.g. a council prepaid card loaded with a direct payment
    UNKNOWN = "unknown"

    @property
    def label(self) -> str:
        return {"credit": "Credit card", "debit": "Debit card", "prepaid": "Prepaid card", "unknown": "Card"}[self.value]


class CardCustomer(db.Model):
    """The Stripe customer that holds one person's saved cards."""

    __tablename__ = "card_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class CardSetupStatus(str, enum.Enum):
    STARTED = "started"  # waiting for the person to enter their card
    SAVED = "saved"  # the card is saved: PaymentCard made
    FAILED = "failed"


class CardSetup(db.Model):
    """One attempt to save a card (a Stripe SetupIntent) for one person."""

    __tablename__ = "card_setups"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    stripe_setup_intent_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    client_secret: Mapped[str] = mapped_column(String(255), nullable=False)
    status: Mapped[CardSetupStatus] = mapped_column(enum_column(CardSetupStatus, "card_setup_status"), nullable=False)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("payment_cards.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class PaymentCard(db.Model):
    """A card a person saved for paying bookings (the payer: a citizen or their representative)."""

    __tablename__ = "payment_cards"
    __table_args__ = (
        CheckConstraint("length(last4) = 4", name="last4_four_digits"),
        CheckConstraint("exp_month BETWEEN 1 AND 12", name="exp_month_valid"),
        CheckConstraint("route <> 'personal_budget'", name="route_is_a_card"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    stripe_payment_method_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    brand: Mapped[str] = mapped_column(String(40), nullable=False)
    last4: Mapped[str] = mapped_column(String(4), nullable=False)
    exp_month: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    exp_year: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    funding: Mapped[CardFunding] = mapped_column(enum_column(CardFunding, "card_funding"), nullable=False)
    # What the person told us the card is for: their council prepaid card (a direct
    # payment) or their own money. The card network's ``funding`` is recorded beside it.
    route: Mapped[FundingRoute] = mapped_column(enum_column(FundingRoute, "payment_card_route"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    owner = relationship("User")

    @property
    def description(self) -> str:
        kind = "prepaid card" if self.funding is CardFunding.PREPAID else self.funding.label.lower()
        return f"{self.brand.title()} {kind} ending {self.last4}"

    @property
    def is_direct_payment(self) -> bool:
        return self.route is FundingRoute.PREPAID_CARD


class BookingCard(db.Model):
    """Which card pays for a card booking, and who owns it (the payer)."""

    __tablename__ = "booking_cards"

    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), primary_key=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("payment_cards.id"), nullable=False, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    card: Mapped[PaymentCard] = relationship(lazy="joined")


class CardPaymentKind(str, enum.Enum):
    AUTHORISE = "authorise"  # authorised at booking, captured when the visit is delivered
    CHARGE = "charge"  # charged off-session when the visit is delivered (or cancelled late)
    PAY_NOW = "pay_now"  # the person paying an unpaid visit themselves


class CardPaymentStatus(str, enum.Enum):
    STARTED = "started"  # recorded; Stripe's answer not yet known
    REQUIRES_ACTION = "requires_action"  # the bank wants the card holder to authenticate
    AUTHORISED = "authorised"  # money reserved on the card, to be captured
    CAPTURED = "captured"  # money taken (in whole or in part)
    CANCELLED = "cancelled"  # the authorisation was released, nothing taken
    FAILED = "failed"  # declined, or authentication needed while the person was away

    @property
    def is_open(self) -> bool:
        return self in (CardPaymentStatus.STARTED, CardPaymentStatus.REQUIRES_ACTION, CardPaymentStatus.AUTHORISED)


class CardPayment(TimestampMixin, db.Model):
    """One Stripe PaymentIntent for one visit."""

    __tablename__ = "card_payments"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("captured_pence >= 0 AND captured_pence <= amount_pence", name="captured_within_amount"),
        CheckConstraint("refunded_pence >= 0 AND refunded_pence <= captured_pence", name="refunded_within_captured"),
        # At most one payment in progress per visit: a visit's card is never charged twice at once.
        Index(
            "uq_card_payments_one_open_per_visit",
            "visit_id",
            unique=True,
            sqlite_where=text("status IN ('started', 'requires_action', 'authorised')"),
            postgresql_where=text("status IN ('started', 'requires_action', 'authorised')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    visit_id: Mapped[int] = mapped_column(ForeignKey("booking_visits.id"), nullable=False, index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, index=True)
    card_id: Mapped[int] = mapped_column(ForeignKey("payment_cards.id"), nullable=False, index=True)
    kind: Mapped[CardPaymentKind] = mapped_column(enum_column(CardPaymentKind, "card_payment_kind"), nullable=False)
    status: Mapped[CardPaymentStatus] = mapped_column(enum_column(CardPaymentStatus, "card_payment_status"), nullable=False, index=True)
    # The card's funding type when it paid (prepaid, debit, credit): what the council reports on.
    funding: Mapped[CardFunding] = mapped_column(enum_column(CardFunding, "card_payment_funding"), nullable=False, index=True)
    route: Mapped[FundingRoute] = mapped_column(enum_column(FundingRoute, "card_payment_route"), nullable=False, index=True)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    captured_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    refunded_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    client_secret: Mapped[str | None] = mapped_column(String(255))
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_holds.id"))
    failure_code: Mapped[str | None] = mapped_column(String(80))
    failure_message: Mapped[str | None] = mapped_column(Text)

    card: Mapped[PaymentCard] = relationship(lazy="joined")
    visit = relationship("BookingVisit")
    booking = relationship("Booking")


class AttemptOperation(str, enum.Enum):
    PAY = "pay"  # create and confirm a PaymentIntent
    CAPTURE = "capture"
    CANCEL = "cancel"
    REFUND = "refund"


class AttemptState(str, enum.Enum):
    STARTED = "started"  # recorded before the call: the outcome is not known yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # Stripe said no (a definite answer): retrying the same key changes nothing


class PaymentAttempt(db.Model):
    """Our own record of one operation we ask Stripe to do, written before we ask.

    ``key`` is derived from our operation ("visit:12:pay:1", "card-payment:7:capture") and
    is unique: a retry (double click, timeout, crash and re-run) finds the same row. The
    Stripe idempotency key is derived from it. A STARTED row whose lease has lapsed is one
    whose outcome we never recorded: before asking again we look at Stripe for what that
    earlier request did.
    """

    __tablename__ = "payment_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True, nullable=False)
    operation: Mapped[AttemptOperation] = mapped_column(enum_column(AttemptOperation, "payment_attempt_operation"), nullable=False)
    state: Mapped[AttemptState] = mapped_column(enum_column(AttemptState, "payment_attempt_state"), nullable=False, index=True)
    card_payment_id: Mapped[int] = mapped_column(ForeignKey("card_payments.id"), nullable=False, index=True)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("card_refunds.id"))
    amount_pence: Mapped[int | None] = mapped_column(Integer)
    stripe_object_id: Mapped[str | None] = mapped_column(String(255))
    tries: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    lease_token: Mapped[str | None] = mapped_column(String(40))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    error_code: Mapped[str | None] = mapped_column(String(80))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class RefundStatus(str, enum.Enum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class CardRefund(db.Model):
    """Money given back for a visit paid by card: asked for by a provider or commissioner,
    or made by the marketplace itself (``automatic``) when a card paid a visit twice.

    PENDING until the card processor says the refund succeeded (its answer, or a webhook,
    may come later than the request); only then does the money reach the card.
    """

    __tablename__ = "card_refunds"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_not_blank"),
        CheckConstraint("automatic OR requested_by_id IS NOT NULL", name="requested_by_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    card_payment_id: Mapped[int] = mapped_column(ForeignKey("card_payments.id"), nullable=False, index=True)
    request_key: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus, "card_refund_status"), nullable=False)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Nobody for an automatic refund (a visit paid twice): the marketplace made it.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    automatic: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=text("false"))
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    payment: Mapped[CardPayment] = relationship()
    requested_by = relationship("User")


class StripeEvent(db.Model):
    """Each webhook event, recorded once by its id: a replayed event changes nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(120), nullable=False)
    object_id: Mapped[str | None] = mapped_column(String(255), index=True)
    stripe_created: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    outcome: Mapped[str] = mapped_column(Text, nullable=False, default="")


class ClearingSettlementKind(str, enum.Enum):
    """How the council settled money an automatic refund left in card clearing, when the
    card processor would not give it back to the card."""

    REPAID_OUTSIDE_STRIPE = "repaid_outside_stripe"  # repaid to the card holder by BACS or cheque
    OWED_AFTER_ALL = "owed_after_all"  # kept: the visit was owed after all; it goes to the provider


class ClearingSettlement(db.Model):
    """A commissioner's decision on money an automatic card refund could not return: repaid
    another way or kept as owed, with their reason. One per refund; the money moves in the
    ledger with it (key ``card-clearing:<refund id>:settled``)."""

    __tablename__ = "clearing_settlements"
    __table_args__ = (CheckConstraint("length(trim(reason)) > 0", name="reason_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("card_refunds.id"), unique=True, nullable=False)
    request_key: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    kind: Mapped[ClearingSettlementKind] = mapped_column(enum_column(ClearingSettlementKind, "clearing_settlement_kind"), nullable=False)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    settled_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    refund: Mapped[CardRefund] = relationship()
    settled_by = relationship("User")
