"""Paying for a booking from a personal budget: the budget's side of each booking step."""

from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import lazyload

from app.database import unit_of_work_memo
from app.extensions import db
from app.formatting import format_datetime, format_pence
from app.models import (
    AccountKind,
    BudgetPeriod,
    BudgetStatus,
    FundingRoute,
    LedgerAccount,
    PersonalBudget,
    Service,
    User,
    VisitStatus,
)
from app.services import bookings, ledger
from app.services.bookings import PaymentStrategy
from app.services.budgets.accounts import spending_account
from app.services.budgets.holding import cover_short_visits
from app.services.errors import ValidationError
from app.services.ledger import InsufficientFunds


def usable_budgets(citizen: User, service: Service | None = None) -> list[PersonalBudget]:
    """The citizen's active budgets (an ISF only with its own provider)."""
    budgets = (
        db.session.execute(
            select(PersonalBudget).where(PersonalBudget.citizen_id == citizen.id, PersonalBudget.status == BudgetStatus.ACTIVE)
        )
        .scalars()
        .all()
    )
    if service is not None:
        budgets = [b for b in budgets if not b.is_isf or b.isf_provider_id == service.provider_id]
    return list(budgets)


def _budget_and_money(public_id: str, *, lock: bool) -> bookings.Funding | None:
    """The budget with ``public_id`` and what it has: the money in its accounts (their
    balances, which the ledger keeps equal to their entries) and the day its funded periods
    end, in one query; with ``lock``, under a shared lock on the budget. Read once per unit
    of work: the plan inside a booking's unit of work uses what ``begin`` read under the
    lock, and the ledger is handed the accounts read with it (the hold is taken from one)."""
    memo = unit_of_work_memo()
    if not lock and ("booking budget", public_id) in memo:
        return memo["booking budget", public_id]
    rows = db.session.execute(_budget_and_money_query(lock), {"public_id": public_id}).all()
    found = None
    if rows:
        accounts = [acc for _, acc, _ in rows if acc is not None]
        for acc in accounts:
            ledger.remember_account(acc)
        found = bookings.Funding(rows[0][0], sum(acc.balance_pence for acc in accounts), None, rows[0][2])
    memo["booking budget", public_id] = found
    return found


@cache
def _budget_and_money_query(lock: bool):
    """``_budget_and_money``'s query, built once per process (its cache key too): with the
    citizen (whom the booking names), not an ISF's provider (loaded only for an ISF)."""
    table = PersonalBudget.__table__
    funded_until = select(func.max(BudgetPeriod.ends_on)).where(BudgetPeriod.budget_id == table.c.id).scalar_subquery()
    query = (
        select(PersonalBudget, LedgerAccount, funded_until)
        .outerjoin(LedgerAccount, (LedgerAccount.budget_id == PersonalBudget.id) & (LedgerAccount.kind == AccountKind.BUDGET))
        .where(PersonalBudget.public_id == bindparam("public_id"))
    )
    if lock:
        query = query.with_for_update(read=True, of=table)
    return query.options(lazyload(PersonalBudget.isf_provider)).execution_options(populate_existing=True)


class BudgetPayment(PaymentStrategy):
    """Paying from a personal budget: a ledger hold per visit in a funded period; visits in
    later periods are held when their period is paid in (``holding``)."""

    def begin(self, request):
        if request.budget_public_id:
            # A shared lock on the budget: bookings go ahead side by side, but an ISF move
            # or a funding run of this budget waits for them (and they for it), so the plan
            # sees which provider holds the fund and what is funded now. The budget and its
            # money are read with the lock, for the plan that follows.
            _budget_and_money(request.budget_public_id, lock=True)

    def check_request(self, request, *, service, citizen, booker, errors):
        if not service.accepts(FundingRoute.PERSONAL_BUDGET):
            errors["payment"] = f"{service.provider.name} does not accept personal budgets for this service. Choose another way to pay"
            return None
        found = _budget_and_money(request.budget_public_id, lock=False) if request.budget_public_id else None
        budget = found.budget if found is not None else None
        if budget is None or budget.citizen_id != citizen.id or budget.status is not BudgetStatus.ACTIVE:
            errors["payment"] = "Choose a personal budget that is yours and active"
            return None
        if budget.is_isf and budget.isf_provider_id != service.provider_id:
            errors["payment"] = (
                f"Your Individual Service Fund is held with {budget.isf_provider.name}, so it can only pay for their services"
            )
            return None
        outcome = None
        if request.outcome_id is not None:
            outcome = next((o for o in budget.outcomes if o.id == request.outcome_id), None)
            if outcome is None:
                errors["outcome"] = "Choose one of the outcomes in your support plan"
        return bookings.Funding(budget, found.available_pence, outcome, found.funded_until)

    def check_quote(self, quote, funding):
        available = funding.available_pence or 0
        if quote.hold_now_pence > available:
            raise ValidationError(
                {
                    "payment": (
                        f"This booking needs {format_pence(quote.hold_now_pence)} from your budget now, "
                        f"but only {format_pence(available)} is available"
                    )
                }
            )
        if not any(v.hold_now for v in quote.visits) and funding.funded_until is None:
            raise ValidationError({"payment": "Your budget has not been funded yet. Try again once the council has paid it in"})

    def new_visit_status(self, planned):
        return VisitStatus.HELD if planned.hold_now else VisitStatus.SCHEDULED

    def on_create(self, booking, *, request, quote, visits, actor, now):
        holds = [
            ledger.NewHold(
                visit_id=visit.id,
                amount_pence=visit.amount_pence,
                key=f"hold:visit:{visit.id}:1",
                memo=f"Set aside for {quote.service.title} on {format_datetime(visit.starts_at)} ({booking.reference})",
            )
            for visit, planned in visits
            if planned.hold_now
        ]
        try:
            ledger.hold_for_new_booking(booking, spending_account(quote.budget), holds, actor=actor, effective_at=now)
        except InsufficientFunds:
            raise ValidationError(
                {"payment": "There is not enough money in your budget for this booking. Check your budget and try again"}
            ) from None
        # Its visits were made HELD (``new_visit_status``): holds that fail undo it all.

    def tells_at_once(self):
        return True

    def after_money_back(self, booking, *, actor):
        cover_short_visits(booking.budget_id, actor=actor)


BUDGET_PAYMENT = BudgetPayment()
