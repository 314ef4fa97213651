"""Personal budgets: what the council allocates to a person every 4 weeks, and the
outcomes in their support plan. The money itself lives only in the ledger."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import TimestampMixin, enum_column

PERIOD_DAYS = 28


class BudgetType(str, enum.Enum):
    MANAGED_ACCOUNT = "managed_account"  # the council holds the money and pays on the person's instructions
    ISF = "isf"  # an Individual Service Fund held with one chosen provider

    @property
    def label(self) -> str:
        return {"managed_account": "Council-managed account", "isf": "Individual Service Fund"}[self.value]


class BudgetStatus(str, enum.Enum):
    ACTIVE = "active"
    ENDED = "ended"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class PersonalBudget(TimestampMixin, db.Model):
    __tablename__ = "personal_budgets"
    __table_args__ = (
        CheckConstraint("amount_per_period_pence > 0 AND amount_per_period_pence <= 2000000", name="amount_in_range"),
        CheckConstraint(
            "(budget_type = 'isf' AND isf_provider_id IS NOT NULL) OR (budget_type <> 'isf' AND isf_provider_id IS NULL)",
            name="isf_has_provider",
        ),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    budget_type: Mapped[BudgetType] = mapped_column(enum_column(BudgetType, "budget_type"), nullable=False)
    isf_provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    amount_per_period_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[BudgetStatus] = mapped_column(enum_column(BudgetStatus, "budget_status"), nullable=False, default=BudgetStatus.ACTIVE)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    citizen = relationship("User", foreign_keys=[citizen_id], lazy="joined")
    isf_provider = relationship("Provider", lazy="joined")
    outcomes: Mapped[list[BudgetOutcome]] = relationship(
        back_populates="budget", order_by="BudgetOutcome.position", cascade="all, delete-orphan"
    )
    periods: Mapped[list[BudgetPeriod]] = relationship(back_populates="budget", order_by="BudgetPeriod.starts_on")

    @property
    def is_isf(self) -> bool:
        return self.budget_type is BudgetType.ISF

    def __repr__(self) -> str:
        return f"<PersonalBudget {self.id} {self.budget_type.value}>"


class BudgetOutcome(db.Model):
    """One outcome from the person's support plan ("Get out to the shops each week")."""

    __tablename__ = "budget_outcomes"
    __table_args__ = (CheckConstraint("length(trim(text)) > 0", name="text_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("personal_budgets.id", ondelete="CASCADE"), nullable=False, index=True)
    text: Mapped[str] = mapped_column(String(200), nullable=False)
    position: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=0)

    budget: Mapped[PersonalBudget] = relationship(back_populates="outcomes")


class BudgetPeriod(db.Model):
    """A 4-week period for which a budget has been funded (once: unique per budget)."""

    __tablename__ = "budget_periods"
    __table_args__ = (
        UniqueConstraint("budget_id", "starts_on"),
        CheckConstraint("ends_on > starts_on", name="ends_after_start"),
        CheckConstraint("funded_pence >= 0", name="funded_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("personal_budgets.id"), nullable=False, index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)  # exclusive: the next period's start
    funded_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    shortfall_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    budget: Mapped[PersonalBudget] = relationship(back_populates="periods")


class IsfMove(db.Model):
    """An Individual Service Fund moved from one provider to another, once per request.

    ``request_key`` is the mover's idempotency key (the form's hidden key): submitting the
    same move again finds this row instead of moving anything twice. ``transaction_id`` is
    the ledger transfer of the balance that moved with it (none when nothing was left).
    """

    __tablename__ = "isf_moves"
    __table_args__ = (
        CheckConstraint("moved_pence >= 0", name="moved_not_negative"),
        CheckConstraint("from_provider_id <> to_provider_id", name="to_another_provider"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("personal_budgets.id"), nullable=False, index=True)
    request_key: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    from_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False)
    to_provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False)
    moved_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    moved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    from_provider = relationship("Provider", foreign_keys=[from_provider_id])
    to_provider = relationship("Provider", foreign_keys=[to_provider_id])
    transaction = relationship("LedgerTransaction")
