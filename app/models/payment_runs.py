"""Paying providers without invoices: payment runs, their lines and items, and providers'
bank accounts.

A run covers a period. Preparing it gives each provider a line and claims, as the line's
items, every ledger entry that changed what the provider is owed (a spend fact) for care in
or before the period that no run has claimed yet and that is not held out by a dispute. An
item belongs to one line, ever (the entry is the item's primary key), so nothing is paid
twice. Approving moves each line's net from owed to paid in the ledger, once per line.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class RunStatus(str, enum.Enum):
    PREPARED = "prepared"  # waiting for a second person to approve it
    APPROVING = "approving"  # approval started; a restart finishes it
    APPROVED = "approved"  # every line paid; the payment file is ready
    CANCELLED = "cancelled"  # discarded before approval: its items are free again

    @property
    def label(self) -> str:
        return {"prepared": "Ready to approve", "approving": "Being approved", "approved": "Approved", "cancelled": "Cancelled"}[self.value]


class LineStatus(str, enum.Enum):
    TO_PAY = "to_pay"
    PAID = "paid"
    WITHHELD = "withheld"  # nothing paid this run (no confirmed bank account, or nothing due)

    @property
    def label(self) -> str:
        return {"to_pay": "To pay", "paid": "Paid", "withheld": "Not paid this run"}[self.value]


class PaymentRun(db.Model):
    __tablename__ = "payment_runs"
    __table_args__ = (
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        CheckConstraint("net_pence = gross_pence + adjustments_pence", name="net_adds_up"),
        CheckConstraint("approved_by_id IS NULL OR approved_by_id <> prepared_by_id", name="two_people"),
        # One live run per period.
        Index(
            "uq_payment_runs_one_live_run_per_period",
            "ends_on",
            unique=True,
            sqlite_where=text("status <> 'cancelled'"),
            postgresql_where=text("status <> 'cancelled'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)  # exclusive: the day after the period
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "payment_run_status"), nullable=False, default=RunStatus.PREPARED)
    prepared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: prepared by the scheduler
    prepared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approval_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The Bacs processing day and the day the money reaches providers' banks.
    processing_date: Mapped[dt.date | None] = mapped_column(Date)
    pay_date: Mapped[dt.date | None] = mapped_column(Date)
    visit_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gross_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    adjustments_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    net_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)

    prepared_by = relationship("User", foreign_keys=[prepared_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    lines: Mapped[list[PaymentRunLine]] = relationship(back_populates="run", order_by="PaymentRunLine.id")

    @property
    def last_day(self) -> dt.date:
        return self.ends_on - dt.timedelta(days=1)


class PaymentRunLine(db.Model):
    """What one run pays one provider."""

    __tablename__ = "payment_run_lines"
    __table_args__ = (
        UniqueConstraint("run_id", "provider_id"),
        CheckConstraint("net_pence = gross_pence + adjustments_pence", name="net_adds_up"),
        CheckConstraint("status <> 'to_pay' OR net_pence > 0", name="pays_something"),
        CheckConstraint("status <> 'paid' OR payout_transaction_id IS NOT NULL", name="paid_in_ledger"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payment_runs.id"), nullable=False, index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    status: Mapped[LineStatus] = mapped_column(enum_column(LineStatus, "payment_run_line_status"), nullable=False)
    withheld_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    visit_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    gross_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    adjustments_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    net_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # The account paid: the provider's confirmed bank account when the run was prepared.
    bank_account_id: Mapped[int | None] = mapped_column(ForeignKey("provider_bank_accounts.id"))
    reference: Mapped[str] = mapped_column(String(18), nullable=False, default="")
    payout_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Days from delivery to payment, over the visits it pays (set on approval).
    mean_days_to_pay: Mapped[int | None] = mapped_column(Integer)
    notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    run: Mapped[PaymentRun] = relationship(back_populates="lines")
    provider = relationship("Provider", lazy="joined")
    bank_account = relationship("ProviderBankAccount")


class PaymentRunItem(db.Model):
    """One ledger entry a line pays (a visit's charge, or an adjustment to it): claimed once."""

    __tablename__ = "payment_run_items"
    __table_args__ = (CheckConstraint("amount_pence <> 0", name="amount_not_zero"),)

    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), primary_key=True, autoincrement=False)
    line_id: Mapped[int] = mapped_column(ForeignKey("payment_run_lines.id"), nullable=False, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("booking_visits.id"), nullable=False, index=True)
    amount_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # An adjustment: a change to a visit an earlier run paid (or a correction of a charge).
    is_adjustment: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class BankAccountStatus(str, enum.Enum):
    PENDING = "pending"  # waiting for a commissioner to confirm it with the provider
    CONFIRMED = "confirmed"  # the account runs pay
    REPLACED = "replaced"  # an earlier confirmed account
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return {
            "pending": "Waiting for the council to confirm",
            "confirmed": "Confirmed",
            "replaced": "Replaced",
            "rejected": "Not accepted",
        }[self.value]


class ProviderBankAccount(db.Model):
    """Where a provider is paid. A change is a new row, confirmed by a commissioner before
    any run pays it; until then runs pay the account confirmed before."""

    __tablename__ = "provider_bank_accounts"
    __table_args__ = (
        CheckConstraint("length(sort_code) = 6", name="sort_code_six_digits"),
        CheckConstraint("length(account_number) = 8", name="account_number_eight_digits"),
        CheckConstraint("length(trim(account_name)) > 0", name="account_name_not_blank"),
        Index(
            "uq_provider_bank_accounts_one_confirmed",
            "provider_id",
            unique=True,
            sqlite_where=text("status = 'confirmed'"),
            postgresql_where=text("status = 'confirmed'"),
        ),
        Index(
            "uq_provider_bank_accounts_one_pending",
            "provider_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    sort_code: Mapped[str] = mapped_column(String(6), nullable=False)
    account_number: Mapped[str] = mapped_column(String(8), nullable=False)
    account_name: Mapped[str] = mapped_column(String(120), nullable=False)
    status: Mapped[BankAccountStatus] = mapped_column(enum_column(BankAccountStatus, "bank_account_status"), nullable=False)
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    provider = relationship("Provider")
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def masked(self) -> str:
        """How pages show it: the sort code and the last 4 digits of the account."""
        return f"{self.sort_code[:2]}-{self.sort_code[2:4]}-{self.sort_code[4:]}, account ending {self.account_number[-4:]}"
