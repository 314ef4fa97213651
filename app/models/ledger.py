"""The double-entry ledger: the only record of money.

* An account's balance is the sum of its entries. ``balance_pence`` is a cached copy,
  updated in the same statement that checks it may not go below zero; `flask ledger check`
  proves it equals the entries.
* Every transaction's entries sum to zero. Entries and transactions are never updated or
  deleted (database triggers refuse it); a correction is a new transaction linked to the
  one it corrects.
* Every transaction has a kind, a cause (what made it happen), an actor, an idempotency key
  unique in the database, the business time it happened (``effective_at``) and the time it
  was written (``recorded_at``).

Sign convention: a positive balance is value held in that account. Funding a budget moves
value from the council's funding account (which goes negative by what it has allocated)
into the budget; a hold moves it from the budget to the booking's hold account; a capture
moves it from the hold to what the council owes the provider.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class AccountKind(str, enum.Enum):
    COUNCIL_FUNDING = "council_funding"  # the council's allocation to personal budgets (negative)
    BUDGET = "budget"  # what one personal budget may spend (for an ISF: held with one provider)
    BOOKING_HOLD = "booking_hold"  # money set aside for one booking's visits
    # What the council owes one provider for delivered care; below zero when the provider
    # owes money back (a refund or correction after it was paid), taken off its next run.
    PROVIDER_PAYABLE = "provider_payable"
    PROVIDER_PAID = "provider_paid"  # paid out to providers by payment runs (what left the books)
    CARD_CLEARING = "card_clearing"  # card money in transit through the card processor
    SELF_FUNDED = "self_funded"  # money people paid from their own cards (negative)


# Accounts that stand for money leaving or entering the marketplace's books: they may be
# negative. Every other account must stay at or above zero.
MAY_GO_NEGATIVE = {AccountKind.COUNCIL_FUNDING, AccountKind.PROVIDER_PAYABLE, AccountKind.PROVIDER_PAID, AccountKind.SELF_FUNDED}


class TransactionKind(str, enum.Enum):
    FUNDING = "funding"  # a budget credited for a 4-week period
    HOLD = "hold"  # budget -> booking hold
    RELEASE = "release"  # booking hold -> budget (declined, cancelled, undelivered)
    CAPTURE = "capture"  # booking hold -> provider payable (delivered)
    ISF_TRANSFER = "isf_transfer"  # an ISF's balance moved to another provider
    PAYOUT = "payout"  # provider payable -> paid (payment run)
    CARD_PAYMENT = "card_payment"  # card money captured into the card clearing account
    CARD_REFUND = "card_refund"  # card money returned
    CORRECTION = "correction"  # reverses or adjusts an earlier transaction
    ADJUSTMENT = "adjustment"  # a commissioner's adjustment to a budget, with a reason


class LedgerAccount(db.Model):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance_pence >= 0", name="never_below_zero"),
        UniqueConstraint("kind", "owner_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[AccountKind] = mapped_column(enum_column(AccountKind, "ledger_account_kind"), nullable=False)
    # What the account belongs to, as a stable unique key within its kind: "council",
    # "budget:12:provider:4", "booking:77", "provider:4"...
    owner_key: Mapped[str] = mapped_column(String(80), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    budget_id: Mapped[int | None] = mapped_column(ForeignKey("personal_budgets.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    allow_negative: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    balance_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    def __repr__(self) -> str:
        return f"<LedgerAccount {self.id} {self.kind.value} {self.owner_key} {self.balance_pence}>"


class LedgerTransaction(db.Model):
    __tablename__ = "ledger_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TransactionKind] = mapped_column(enum_column(TransactionKind, "ledger_transaction_kind"), nullable=False, index=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    # What caused it: ("budget_period", 12), ("booking_visit", 345), ("payment_run", 3)...
    cause_type: Mapped[str] = mapped_column(String(40), nullable=False)
    cause_id: Mapped[int | None] = mapped_column(Integer)
    # Who or what did it: a signed-in person, or a named system job.
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(120), nullable=False)
    memo: Mapped[str] = mapped_column(Text, nullable=False, default="")
    effective_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="transaction", order_by="LedgerEntry.id")

    def __repr__(self) -> str:
        return f"<LedgerTransaction {self.id} {self.kind.value} {self.idempotency_key}>"


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entries"
    __table_args__ = (CheckConstraint("amount_pence <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=False, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False, index=True)
    amount_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship(lazy="joined")


class HoldStatus(str, enum.Enum):
    HELD = "held"
    CAPTURED = "captured"  # in whole or in part; any remainder released at the same moment
    RELEASED = "released"


class LedgerHold(db.Model):
    """Money set aside for one visit: captured (in whole or part) or released, exactly once."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("captured_pence >= 0 AND released_pence >= 0", name="settled_not_negative"),
        CheckConstraint(
            "(status = 'held' AND captured_pence = 0 AND released_pence = 0) OR "
            "(status <> 'held' AND captured_pence + released_pence = amount_pence)",
            name="settled_exactly",
        ),
        # At most one live hold per visit: a visit's money is never held twice.
        Index(
            "uq_ledger_holds_one_live_hold_per_visit",
            "visit_id",
            unique=True,
            sqlite_where=text("status = 'held'"),
            postgresql_where=text("status = 'held'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("booking_visits.id"), nullable=False, index=True)
    budget_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    hold_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), nullable=False)
    amount_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[HoldStatus] = mapped_column(enum_column(HoldStatus, "ledger_hold_status"), nullable=False, default=HoldStatus.HELD)
    captured_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    released_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    placed_transaction_id: Mapped[int] = mapped_column(ForeignKey("ledger_transactions.id"), nullable=False)
    settled_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
