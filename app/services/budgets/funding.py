"""Paying budgets in, one 4-week period at a time: once per budget and period, whatever
runs at once; then the visits waiting for that money are set aside, earliest first."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import (
    BookingVisit,
    BudgetPeriod,
    BudgetStatus,
    PersonalBudget,
    TransactionKind,
)
from app.services import audit, ledger
from app.services.budgets.accounts import lock_budget, spending_account
from app.services.budgets.holding import hold_waiting_visits, lock_visits_to_hold
from app.services.ledger import Actor
from app.services.policy import PERIOD_DAYS, Policy
from app.uk_time import local_midnight


@dataclass
class FundingResult:
    budget: PersonalBudget
    period: BudgetPeriod | None  # None when the budget was not active in the period
    newly_funded: bool
    held_visits: int = 0
    short_visits: list[BookingVisit] = field(default_factory=list)


def period_amount(budget: PersonalBudget, start: dt.date, end: dt.date) -> int:
    """The full amount, or a pro-rata share for a budget that starts or ends mid-period."""
    first = max(start, budget.starts_on)
    last_exclusive = min(end, budget.ends_on + dt.timedelta(days=1)) if budget.ends_on else end
    days = (last_exclusive - first).days
    if days <= 0:
        return 0
    return budget.amount_per_period_pence * days // PERIOD_DAYS


def _funded_period(budget_id: int, start: dt.date) -> BudgetPeriod | None:
    return db.session.execute(
        select(BudgetPeriod).where(BudgetPeriod.budget_id == budget_id, BudgetPeriod.starts_on == start)
    ).scalar_one_or_none()


def fund_budget(budget: PersonalBudget, period_start: dt.date, *, policy: Policy, actor: Actor) -> FundingResult:
    """Credit one budget for the period starting ``period_start`` (once), then hold the
    committed visits that fall in it, and any left short before it, earliest first.
    Running it again, even at the same moment in another process, changes nothing."""
    start, end = policy.require_period_start(period_start)
    budget_id = budget.id
    try:
        with write_transaction():
            # The budget first (a second run of the same period waits here, then finds the
            # period funded), then the visits waiting for money, then the ledger.
            budget = lock_budget(budget_id)
            existing = _funded_period(budget.id, start)
            if existing is not None:
                return FundingResult(budget, existing, newly_funded=False)
            if budget.status is not BudgetStatus.ACTIVE:
                return FundingResult(budget, None, newly_funded=False)
            amount = period_amount(budget, start, end)
            if amount <= 0:
                return FundingResult(budget, None, newly_funded=False)
            waiting = lock_visits_to_hold(budget, before=local_midnight(end))
            account = spending_account(budget)
            transaction = ledger.post(
                TransactionKind.FUNDING,
                [(ledger.council_funding_account(), -amount), (account, amount)],
                key=f"fund:budget:{budget.id}:period:{start.isoformat()}",
                cause=("personal_budget", budget.id),
                actor=actor,
                # Paid in on the period's first day; paid in ahead of it, the money is there
                # (and can be set aside) from the moment it is paid in.
                effective_at=min(local_midnight(start), utcnow()),
                memo=f"Personal budget for {start:%-d %B %Y} to {end - dt.timedelta(days=1):%-d %B %Y}",
            )
            period = BudgetPeriod(budget_id=budget.id, starts_on=start, ends_on=end, funded_pence=amount, transaction_id=transaction.id)
            db.session.add(period)
            db.session.flush()
            held, short = hold_waiting_visits(budget, waiting, actor)
            period.shortfall_pence = sum(v.amount_pence for v in short)
            result = FundingResult(budget, period, newly_funded=True, held_visits=held, short_visits=short)
    except IntegrityError:
        # Another run funded this period at the same moment (a database without row locks
        # would get here): it did the work, so this run skips the budget.
        db.session.rollback()
        existing = _funded_period(budget_id, start)
        if existing is None:
            raise
        return FundingResult(db.session.get(PersonalBudget, budget_id), existing, newly_funded=False)
    return result


@dataclass
class FundingRun:
    period_start: dt.date
    period_end: dt.date
    funded: list[FundingResult] = field(default_factory=list)
    already_funded: int = 0
    not_active: int = 0

    @property
    def total_pence(self) -> int:
        return sum(r.period.funded_pence for r in self.funded if r.period)


def fund_all(period_start: dt.date, *, policy: Policy, actor: Actor, progress=None) -> FundingRun:
    """Credit every active budget for one period. Safe to re-run, even after a crash."""
    start, end = policy.require_period_start(period_start)
    ids = (
        db.session.execute(
            select(PersonalBudget.id)
            .where(
                PersonalBudget.status == BudgetStatus.ACTIVE,
                PersonalBudget.starts_on < end,
                or_(PersonalBudget.ends_on.is_(None), PersonalBudget.ends_on >= start),
            )
            .order_by(PersonalBudget.id)
        )
        .scalars()
        .all()
    )
    run = FundingRun(start, end)
    for budget_id in ids:
        result = fund_budget(db.session.get(PersonalBudget, budget_id), start, policy=policy, actor=actor)
        if result.newly_funded:
            run.funded.append(result)
        elif result.period is not None:
            run.already_funded += 1
        else:
            run.not_active += 1
        if progress:
            progress(1)
    if run.funded:
        with write_transaction():
            audit.record(
                None,
                "budgets.funded",
                "budget_period",
                None,
                after={
                    "period_start": start.isoformat(),
                    "budgets_funded": len(run.funded),
                    "total_pence": run.total_pence,
                    "already_funded": run.already_funded,
                    "by": actor.label,
                },
            )
    return run


def latest_funded_period_end(budget: PersonalBudget) -> dt.date | None:
    return db.session.execute(select(func.max(BudgetPeriod.ends_on)).where(BudgetPeriod.budget_id == budget.id)).scalar_one_or_none()
