"""Where a budget's money is (its ledger accounts: an ISF has one per provider that has
held it), and the lock that funding runs, ISF moves and covering visits take turns on."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AccountKind,
    BudgetType,
    LedgerAccount,
    PersonalBudget,
    Provider,
)
from app.services import ledger
from app.services.errors import NotFound


def spending_account(budget: PersonalBudget) -> LedgerAccount:
    """Where the budget's available money is: for an ISF, with its current provider."""
    if budget.budget_type is BudgetType.ISF:
        provider = budget.isf_provider or db.session.get(Provider, budget.isf_provider_id)
        return ledger.budget_account(budget, provider)
    return ledger.budget_account(budget)


def budget_accounts(budget: PersonalBudget) -> list[LedgerAccount]:
    return list(
        db.session.execute(
            select(LedgerAccount).where(LedgerAccount.budget_id == budget.id, LedgerAccount.kind == AccountKind.BUDGET)
        ).scalars()
    )


def lock_budget(budget_id: int) -> PersonalBudget:
    """Lock a budget's row for the rest of this unit of work and read it as it is now.

    Funding runs, ISF moves and covering short visits of one budget take turns on it;
    bookings take a shared lock on it (``bookings._create``). PostgreSQL: FOR NO KEY UPDATE
    (rows that refer to the budget can still be added); SQLite: the unit of work holds the
    write lock already."""
    table = PersonalBudget.__table__
    if db.session.execute(select(table.c.id).where(table.c.id == budget_id).with_for_update(key_share=True)).scalar() is None:
        raise NotFound("No such budget")
    return db.session.get(PersonalBudget, budget_id, populate_existing=True)
