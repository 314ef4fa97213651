"""Finance checks anyone involved can ask for: the person, whoever arranges their care, a
provider the budget pays, or the council. Asking adds the reason, as a flag, to the budget's
open audit, or opens one for this year (joining the year's sample if it is drawn, and joined
by it when it is drawn later)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.database import utcnow, write_transaction
from app.extensions import db
from app.formatting import format_date
from app.models import AuditFlag, AuditStatus, Booking, BudgetAudit, PersonalBudget, ProviderStaff, Role, User
from app.services import accounts, audit
from app.services.audits.sampling import sample_for
from app.services.errors import NotFound, ValidationError
from app.uk_time import uk_today

MAX_REASON = 1000
REQUESTED = "requested"


def _provider_of(user: User, budget: PersonalBudget) -> str | None:
    """The name of the provider ``user`` works for, if the budget pays it (or held it as an ISF)."""
    staff = db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == user.id)).scalar_one_or_none()
    if staff is None:
        return None
    paid = db.session.execute(
        select(Booking.id).where(Booking.budget_id == budget.id, Booking.provider_id == staff.provider_id).limit(1)
    ).first()
    return staff.provider.name if paid is not None or budget.isf_provider_id == staff.provider_id else None


def who_asks(user: User, budget: PersonalBudget) -> str | None:
    """How the audit names someone who may ask for a check of ``budget`` (None: they may not)."""
    if user.role in (Role.COMMISSIONER, Role.ADMIN):
        return "the council"
    if accounts.can_act_for(user, budget.citizen):
        return "the person" if user.id == budget.citizen_id else "someone who arranges their care"
    if user.role is Role.PROVIDER:
        return _provider_of(user, budget)
    return None


def open_audit_of(budget: PersonalBudget) -> BudgetAudit | None:
    return (
        db.session.execute(
            select(BudgetAudit).where(BudgetAudit.budget_id == budget.id, BudgetAudit.status != AuditStatus.CLOSED).order_by(BudgetAudit.id)
        )
        .scalars()
        .first()
    )


def ask_for_check(budget: PersonalBudget, *, reason: str | None, by: User, now: dt.datetime | None = None) -> BudgetAudit:
    """Ask the council to check ``budget``'s finances. Someone not involved: NotFound."""
    now = now or utcnow()
    who = who_asks(by, budget)
    if who is None:
        raise NotFound("No such budget")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the budget should be checked"})
    if len(reason) > MAX_REASON:
        raise ValidationError({"reason": f"Enter {MAX_REASON:,} characters or fewer"})
    year = uk_today(now).year
    with write_transaction():
        found = open_audit_of(budget)
        if found is None:
            sample = sample_for(year)
            found = BudgetAudit(sample_id=sample.id if sample else None, year=year, budget_id=budget.id, at_random=False, requested=True)
            db.session.add(found)
            db.session.flush()
        found.requested = True
        db.session.add(AuditFlag(audit_id=found.id, code=REQUESTED, reason=f"Asked for by {who} on {format_date(now)}: {reason}"))
        audit.record(by, "audit.check_requested", "personal_budget", budget.id, after={"audit": found.id}, note=reason, at=now)
    db.session.refresh(found)
    return found
