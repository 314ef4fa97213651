"""Setting up a personal budget: a commissioner records it, and the period it starts in is
paid in at once."""

from __future__ import annotations

import datetime as dt
import secrets

from app.database import write_transaction
from app.extensions import db
from app.models import (
    BudgetOutcome,
    BudgetType,
    PersonalBudget,
    Provider,
    ProviderStatus,
    Role,
    User,
)
from app.services import audit
from app.services.budgets.accounts import spending_account
from app.services.budgets.funding import fund_budget
from app.services.errors import ValidationError
from app.services.ledger import Actor
from app.services.policy import Policy
from app.uk_time import uk_today

MAX_AMOUNT_PENCE = 2_000_000  # £20,000 per 4 weeks: above this is a typing slip


MAX_OUTCOMES = 12


def new_public_id() -> str:
    return secrets.token_urlsafe(12)


def create_budget(
    *,
    citizen: User,
    budget_type: BudgetType,
    amount_per_period_pence: int,
    starts_on: dt.date,
    outcomes: list[str],
    created_by: User | None,
    policy: Policy,
    isf_provider: Provider | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> PersonalBudget:
    """A commissioner sets up a budget; the period it starts in is funded at once. ``now``:
    when it was set up, if not now (history made as of a past moment)."""
    texts = [o.strip() for o in outcomes if o and o.strip()]
    _check_set_up(citizen, budget_type, amount_per_period_pence, texts, isf_provider)
    if budget_type is not BudgetType.ISF:
        isf_provider = None
    today = today or uk_today()
    with write_transaction():
        budget = PersonalBudget(
            public_id=new_public_id(),
            citizen_id=citizen.id,
            budget_type=budget_type,
            isf_provider_id=isf_provider.id if isf_provider else None,
            amount_per_period_pence=amount_per_period_pence,
            starts_on=starts_on,
            created_by_id=created_by.id if created_by else None,
        )
        if now is not None:
            budget.created_at = budget.updated_at = now
        budget.outcomes = [BudgetOutcome(text=t, position=i) for i, t in enumerate(texts)]
        db.session.add(budget)
        db.session.flush()
        spending_account(budget)
        audit.record(
            created_by,
            "budget.created",
            "personal_budget",
            budget.id,
            after={
                "citizen_id": citizen.id,
                "type": budget_type.value,
                "isf_provider_id": budget.isf_provider_id,
                "amount_per_period_pence": amount_per_period_pence,
                "starts_on": starts_on.isoformat(),
                "outcomes": texts,
            },
            at=now,
        )
    # Fund the period the budget starts in (if it has begun), so it can be used at once.
    if starts_on <= today:
        start, _ = policy.period_containing(max(starts_on, today))
        fund_budget(budget, start, policy=policy, actor=Actor.person(created_by) if created_by else Actor.system("budget set-up"))
    return budget


def _check_set_up(
    citizen: User, budget_type: BudgetType, amount_per_period_pence: int, outcomes: list[str], isf_provider: Provider | None
) -> None:
    """Raise ValidationError naming every field of a new budget that is wrong."""
    errors: dict[str, str] = {}
    if citizen.role is not Role.CITIZEN:
        errors["citizen"] = "Choose a citizen account: budgets are for the person who receives care"
    if (
        isinstance(amount_per_period_pence, bool)
        or not isinstance(amount_per_period_pence, int)
        or not (0 < amount_per_period_pence <= MAX_AMOUNT_PENCE)
    ):
        errors["amount"] = "Enter an amount per 4 weeks between £0.01 and £20,000"
    if not outcomes:
        errors["outcomes"] = "Enter at least one outcome from the support plan"
    elif len(outcomes) > MAX_OUTCOMES or any(len(t) > 200 for t in outcomes):
        errors["outcomes"] = f"Enter up to {MAX_OUTCOMES} outcomes, each 200 characters or fewer"
    if budget_type is BudgetType.ISF:
        if isf_provider is None or isf_provider.status is not ProviderStatus.VERIFIED:
            errors["isf_provider"] = "Choose the verified provider that will hold the Individual Service Fund"
    if errors:
        raise ValidationError(errors)
