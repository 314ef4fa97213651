"""Proportionate audit of personal budgets: instead of checking everyone every quarter, a
balance check of every budget each year from the ledger (it costs nobody any time), and a
reproducible random share of budgets (the council's setting; the seed is kept) plus every
budget with a risk flag, each flag saying why it was raised."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class AuditStatus(str, enum.Enum):
    TO_START = "to_start"
    OPEN = "open"
    WAITING = "waiting"  # for the person's answer
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"to_start": "Not started", "open": "Open", "waiting": "Waiting for the person", "closed": "Closed"}[self.value]


class AuditOutcome(str, enum.Enum):
    NO_ACTION = "no_action"
    RECOVERED = "recovered"
    REVIEW_PLAN = "review_plan"

    @property
    def label(self) -> str:
        return {
            "no_action": "No action needed",
            "recovered": "Unspent money recovered",
            "review_plan": "Support plan to be reviewed",
        }[self.value]


class BalanceCheck(db.Model):
    """A budget's yearly balance check: its figures from the ledger, and whether they add up
    (available + set aside + spent = funded)."""

    __tablename__ = "budget_balance_checks"
    __table_args__ = (UniqueConstraint("budget_id", "year", name="one_per_budget_and_year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("personal_budgets.id"), nullable=False)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False, index=True)
    checked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    funded_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    available_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    held_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    spent_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    balances: Mapped[bool] = mapped_column(Boolean, nullable=False)

    budget = relationship("PersonalBudget")


class AuditSample(db.Model):
    """The budgets drawn for audit in one year: drawn once, reproducible from its seed."""

    __tablename__ = "audit_samples"
    __table_args__ = (CheckConstraint("share_percent >= 1 AND share_percent <= 100", name="share_in_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False, unique=True)
    seed: Mapped[int] = mapped_column(BigInteger, nullable=False)
    share_percent: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    budgets_considered: Mapped[int] = mapped_column(Integer, nullable=False)
    drawn_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the scheduler

    audits: Mapped[list[BudgetAudit]] = relationship(back_populates="sample", order_by="BudgetAudit.budget_id")


class BudgetAudit(db.Model):
    """One budget's audit in a year: chosen for the sample (at random, for its flags, or both)
    or asked for by someone involved (a finance check), and how it went: opened, questions
    to the person, findings, time spent, outcome."""

    __tablename__ = "budget_audits"
    __table_args__ = (
        UniqueConstraint("sample_id", "budget_id", name="once_per_sample"),
        CheckConstraint("(status = 'closed') = (outcome IS NOT NULL)", name="closed_with_outcome"),
        CheckConstraint("minutes_spent >= 0 AND recovered_pence >= 0", name="not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a finance check someone asked for before the year's sample was drawn.
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("audit_samples.id"))
    year: Mapped[int] = mapped_column(SmallInteger, nullable=False, index=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("personal_budgets.id"), nullable=False, index=True)
    at_random: Mapped[bool] = mapped_column(Boolean, nullable=False)
    requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    status: Mapped[AuditStatus] = mapped_column(
        enum_column(AuditStatus, "budget_audit_status"), nullable=False, default=AuditStatus.TO_START, server_default="to_start"
    )
    opened_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    findings: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    minutes_spent: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    outcome: Mapped[AuditOutcome | None] = mapped_column(enum_column(AuditOutcome, "budget_audit_outcome"))
    recovered_pence: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    recovery_transaction_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transactions.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    sample: Mapped[AuditSample] = relationship(back_populates="audits")
    budget = relationship("PersonalBudget")
    flags: Mapped[list[AuditFlag]] = relationship(back_populates="audit", order_by="AuditFlag.id")
    questions: Mapped[list[AuditQuestion]] = relationship(back_populates="audit", order_by="AuditQuestion.id")


class AuditFlag(db.Model):
    """Why a budget was flagged: one risk, in words."""

    __tablename__ = "audit_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("budget_audits.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)

    audit: Mapped[BudgetAudit] = relationship(back_populates="flags")


class AuditQuestion(db.Model):
    """A question the auditor asks the person (they see and answer it in the app)."""

    __tablename__ = "audit_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("budget_audits.id"), nullable=False, index=True)
    question: Mapped[str] = mapped_column(Text, nullable=False)
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    asked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    answer: Mapped[str] = mapped_column(Text, nullable=False, default="")
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    audit: Mapped[BudgetAudit] = relationship(back_populates="questions")
