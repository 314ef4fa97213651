"""Spend in a period, from the spend facts, grouped by whatever a report needs.

Spend is what providers became owed for care: captures from budgets and card payments
passed on, less card refunds taken back. Payouts to providers are not spend (they pay
what is owed). The facts are the ledger's entries, so these totals are the ledger's.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from app.extensions import db
from app.models import Booking, SpendFact
from app.services.reports.filters import ReportFilter


def within(statement: Select, f: ReportFilter) -> Select:
    """``statement`` limited to the facts the filter allows."""
    statement = statement.where(SpendFact.month >= f.first_month, SpendFact.month <= f.last_month)
    if f.category is not None:
        statement = statement.where(SpendFact.category_id == f.category.id)
    if f.district:
        statement = statement.where(SpendFact.district == f.district)
    if f.way is not None:
        statement = statement.where(SpendFact.way == f.way)
    return statement


def grouped(f: ReportFilter, *columns) -> list:
    """Rows of (*columns, pence) for the facts the filter allows."""
    statement = within(select(*columns, func.sum(SpendFact.amount_pence)), f)
    return db.session.execute(statement.group_by(*columns)).all()


def total(f: ReportFilter) -> int:
    return int(db.session.execute(within(select(func.sum(SpendFact.amount_pence)), f)).scalar() or 0)


def people(f: ReportFilter, *columns) -> list:
    """Rows of (*columns, people): how many different people the spend was for."""
    statement = select(*columns, func.count(func.distinct(Booking.citizen_id))).join(Booking, Booking.id == SpendFact.booking_id)
    statement = within(statement, f)
    return db.session.execute(statement.group_by(*columns) if columns else statement).all()
