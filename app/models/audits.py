"""Proportionate audit of personal budgets: instead of checking everyone every quarter, a
balance check of every budget each year from the ledger (it costs nobody any time), and a
reproducible random share of budgets (the council's setting; the seed is kept) plus every
budget with a risk flag, each flag saying why it was raised."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db


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
    """One budget chosen for audit in a year's sample: at random, for its flags, or both."""

    __tablename__ = "budget_audits"
    __table_args__ = (UniqueConstraint("sample_id", "budget_id", name="once_per_sample"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("audit_samples.id"), nullable=False)
    budget_id: Mapped[int] = mapped_column(ForeignKey("personal_budgets.id"), nullable=False, index=True)
    at_random: Mapped[bool] = mapped_column(Boolean, nullable=False)

    sample: Mapped[AuditSample] = relationship(back_populates="audits")
    budget = relationship("PersonalBudget")
    flags: Mapped[list[AuditFlag]] = relationship(back_populates="audit", order_by="AuditFlag.id")


class AuditFlag(db.Model):
    """Why a budget was flagged: one risk, in words."""

    __tablename__ = "audit_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("budget_audits.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(40), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)

    audit: Mapped[BudgetAudit] = relationship(back_populates="flags")
