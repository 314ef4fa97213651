"""Closing an audit with its outcome, and recovering unspent money: a ledger adjustment from
the budget's available money back to the council's funding (the person sees it on their
statement), made once per audit, and given back by a reversal if it was a mistake.

Closing takes the budget's lock, then claims the audit in one conditional UPDATE before any
money moves: of two people closing at once, one closes it and the other is told it is closed."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_pence
from app.models import AuditOutcome, AuditStatus, BudgetAudit, LedgerTransaction, TransactionKind, User
from app.services import audit, budgets, ledger, notifications
from app.services.audits.working import MAX_FINDINGS, RECOVERY_CAUSE, get_audit
from app.services.errors import Conflict, ValidationError
from app.services.ledger import Actor


def _outcome(value) -> AuditOutcome:
    try:
        return AuditOutcome(value)
    except ValueError:
        raise ValidationError({"outcome": "Choose the outcome of the audit"}) from None


def close(
    audit_id: int, *, outcome, findings: str | None, recover_pence: int | None = None, by: User, now: dt.datetime | None = None
) -> BudgetAudit:
    """Close the audit (once). ``recover_pence``: with the outcome "recovered", how much of
    the budget's available money goes back to the council."""
    now = now or utcnow()
    found = get_audit(audit_id)
    outcome = _outcome(outcome)
    text = (findings or "").strip()
    if not text:
        raise ValidationError({"findings": "Record what the audit found"})
    if len(text) > MAX_FINDINGS:
        raise ValidationError({"findings": f"Enter {MAX_FINDINGS:,} characters or fewer"})
    with write_transaction():
        budget = budgets.lock_budget(found.budget_id)
        # Closing is claimed first, in one conditional UPDATE: of two people closing at once,
        # the second waits here on the audit's row and finds it closed, before any money moves.
        closed = db.session.execute(
            update(BudgetAudit)
            .where(BudgetAudit.id == found.id, BudgetAudit.status != AuditStatus.CLOSED)
            .values(
                status=AuditStatus.CLOSED.value,
                outcome=outcome.value,
                findings=text,
                closed_at=now,
                closed_by_id=by.id,
                opened_at=db.func.coalesce(BudgetAudit.opened_at, now),
                opened_by_id=db.func.coalesce(BudgetAudit.opened_by_id, by.id),
            )
        ).rowcount
        if closed != 1:
            raise Conflict("This audit is closed already")
        db.session.refresh(found)  # as it is now, under its lock (time recorded meanwhile)
        recovered = 0
        if outcome is AuditOutcome.RECOVERED:
            recovered, transaction_id = _recover(found, budget, recover_pence, by=by, now=now)
            recovery = {"recovered_pence": recovered, "recovery_transaction_id": transaction_id}
            db.session.execute(update(BudgetAudit).where(BudgetAudit.id == found.id).values(**recovery))
        after = {"outcome": outcome.value, "recovered_pence": recovered, "minutes_spent": found.minutes_spent}
        audit.record(by, "audit.closed", "budget_audit", found.id, after=after, note=text, at=now)
        notifications.notify(
            budget.citizen,
            "The council has finished checking your personal budget",
            f"The council finished its yearly check of your personal budget: {outcome.label.lower()}."
            + (f" {format_pence(recovered)} of unspent money went back to the council." if recovered else ""),
            link=f"/budgets/{budget.public_id}",
        )
    db.session.refresh(found)
    return found


def _recover(found: BudgetAudit, budget, amount, *, by: User, now: dt.datetime) -> tuple[int, int]:
    available = ledger.balance(budgets.spending_account(budget))
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= available:
        raise ValidationError(
            {"recover": f"Enter how much to recover, from £0.01 to the {format_pence(available)} available now"}
            if available
            else {"recover": "There is no money available to recover: choose another outcome"}
        )
    transaction = ledger.post(
        TransactionKind.ADJUSTMENT,
        [(budgets.spending_account(budget), -amount), (ledger.council_funding_account(), amount)],
        key=f"audit:{found.id}:recover",
        cause=(RECOVERY_CAUSE, found.id),
        actor=Actor.person(by),
        effective_at=now,
        memo=f"Unspent money recovered after the council's {found.year} audit of this budget",
    )
    audit.record(
        by, "audit.money_recovered", "personal_budget", budget.id, after={"amount_pence": amount, "transaction": transaction.id}, at=now
    )
    return amount, transaction.id


def undo_recovery(audit_id: int, *, reason: str | None, by: User, now: dt.datetime | None = None):
    """Give money an audit recovered back to the budget (a reversal of the adjustment, once;
    the audit keeps its outcome and the trail says why)."""
    now = now or utcnow()
    found = get_audit(audit_id)
    if found.recovery_transaction_id is None:
        raise Conflict("This audit recovered no money")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Enter why the money goes back to the budget: it goes in the audit trail"})
    if len(reason) > MAX_FINDINGS:
        raise ValidationError({"reason": f"Enter {MAX_FINDINGS:,} characters or fewer"})
    with write_transaction():
        budgets.lock_budget(found.budget_id)
        recovery = db.session.get(LedgerTransaction, found.recovery_transaction_id)
        if ledger.reversal_of(recovery) is not None:
            raise Conflict("The recovered money has been given back already")
        reversal = ledger.reverse(recovery, actor=Actor.person(by), reason=reason, effective_at=now)
        audit.record(
            by,
            "audit.recovery_reversed",
            "budget_audit",
            found.id,
            after={"amount_pence": found.recovered_pence, "reversal": reversal.id},
            note=reason,
            at=now,
        )
    return reversal


def recovery_given_back(found: BudgetAudit) -> bool:
    if found.recovery_transaction_id is None:
        return False
    return ledger.reversal_of(db.session.get(LedgerTransaction, found.recovery_transaction_id)) is not None
