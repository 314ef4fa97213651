"""The yearly balance check of every budget: its figures from the ledger and whether they add
up (available + set aside + spent = funded). We hold every transaction, so this costs nobody
any time; the result is kept, once per budget and year."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, or_, select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import BalanceCheck, PersonalBudget
from app.services import budgets
from app.services.audits.budget_figures import figures_of


def budgets_in(year: int) -> list[PersonalBudget]:
    """Every budget that ran for some of ``year``, by id."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    return list(
        db.session.execute(
            select(PersonalBudget)
            .where(PersonalBudget.starts_on <= last, or_(PersonalBudget.ends_on.is_(None), PersonalBudget.ends_on > first))
            .order_by(PersonalBudget.id)
        ).scalars()
    )


def check_year(year: int, *, now: dt.datetime | None = None) -> list[BalanceCheck]:
    """Check every budget of ``year`` not checked for it yet; returns the year's checks.
    Someone checking at the same moment (two people drawing the sample at once): their
    checks stand, and ours are only those they left, so each budget is checked once."""
    now = now or utcnow()
    try:
        _check_the_rest(year, now)
    except IntegrityError:
        _check_the_rest(year, now)  # ours were rolled back: theirs are in now
    return checks_of(year)


def _check_the_rest(year: int, now: dt.datetime) -> None:
    with write_transaction():
        done = set(db.session.execute(select(BalanceCheck.budget_id).where(BalanceCheck.year == year)).scalars())
        figures = figures_of(budget.id for budget in budgets_in(year) if budget.id not in done)
        if figures:
            db.session.execute(insert(BalanceCheck), [_check(budget_id, year, now, found) for budget_id, found in figures.items()])


def _check(budget_id: int, year: int, now: dt.datetime, figures: budgets.BudgetSummary) -> dict:
    return {
        "budget_id": budget_id,
        "year": year,
        "checked_at": now,
        "funded_pence": figures.funded_pence,
        "available_pence": figures.available_pence,
        "held_pence": figures.held_pence,
        "spent_pence": figures.spent_pence,
        "balances": figures.balances,
    }


def checks_of(year: int) -> list[BalanceCheck]:
    return list(db.session.execute(select(BalanceCheck).where(BalanceCheck.year == year).order_by(BalanceCheck.budget_id)).scalars())
