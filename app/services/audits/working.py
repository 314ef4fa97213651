"""Working an audit: a commissioner opens it, asks the person for information (they see the
question on their budget's page and answer it there), records findings and the time spent,
and closes it with an outcome: no action; recover unspent money (a ledger adjustment from the
budget back to the council's funding, shown on the person's statement and reversible); or
review the support plan. Opening, recovering and closing are in the audit trail."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import AuditQuestion, AuditStatus, BudgetAudit, PersonalBudget, User
from app.services import accounts, audit, notifications
from app.services.errors import Conflict, NotFound, ValidationError

MAX_TEXT = 2000
MAX_FINDINGS = 5000
MAX_MINUTES = 24 * 60  # time added at once
RECOVERY_CAUSE = "budget_audit"


def get_audit(audit_id: int) -> BudgetAudit:
    found = db.session.get(BudgetAudit, audit_id)
    if found is None:
        raise NotFound("No such audit")
    return found


def _text(value: str | None, field: str, *, missing: str, longest: int) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationError({field: missing})
    if len(text) > longest:
        raise ValidationError({field: f"Enter {longest:,} characters or fewer"})
    return text


def _minutes(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MINUTES:
        raise ValidationError({"minutes": f"Enter the minutes spent as a whole number from 0 to {MAX_MINUTES:,}"})
    return value


def _not_closed(found: BudgetAudit) -> None:
    if found.status is AuditStatus.CLOSED:
        raise Conflict("This audit is closed")


def _still_open(change) -> None:
    """Make ``change`` (an UPDATE of one audit) only if the audit is not closed: someone may
    have closed it since it was read, and a closed audit's findings and status stay as closed."""
    if db.session.execute(change.where(BudgetAudit.status != AuditStatus.CLOSED)).rowcount != 1:
        raise Conflict("This audit is closed")


def open_audit(audit_id: int, *, by: User, now: dt.datetime | None = None) -> BudgetAudit:
    now = now or utcnow()
    with write_transaction():
        changed = db.session.execute(
            update(BudgetAudit)
            .where(BudgetAudit.id == audit_id, BudgetAudit.status == AuditStatus.TO_START)
            .values(status=AuditStatus.OPEN.value, opened_at=now, opened_by_id=by.id)
        ).rowcount
        if changed:
            audit.record(by, "audit.opened", "budget_audit", audit_id, at=now)
    found = get_audit(audit_id)
    db.session.refresh(found)
    return found


def ask(audit_id: int, *, question: str | None, by: User, now: dt.datetime | None = None) -> AuditQuestion:
    """Ask the person a question: they are told, and the audit waits for their answer."""
    now = now or utcnow()
    found = get_audit(audit_id)
    _not_closed(found)
    text = _text(question, "question", missing="Enter the question for the person", longest=MAX_TEXT)
    open_audit(audit_id, by=by, now=now)
    with write_transaction():
        _still_open(update(BudgetAudit).where(BudgetAudit.id == found.id).values(status=AuditStatus.WAITING.value))
        asked = AuditQuestion(audit_id=found.id, question=text, asked_at=now, asked_by_id=by.id)
        db.session.add(asked)
        budget = found.budget
        notifications.notify(
            budget.citizen,
            "The council has a question about your personal budget",
            f"As part of its yearly check of personal budgets, the council asks: “{text}” Please answer on your budget’s page.",
            link=f"/budgets/{budget.public_id}#audit",
        )
    return asked


def open_questions(budget: PersonalBudget) -> list[AuditQuestion]:
    """The questions about ``budget`` waiting for an answer, oldest first."""
    return list(
        db.session.execute(
            select(AuditQuestion)
            .join(BudgetAudit, BudgetAudit.id == AuditQuestion.audit_id)
            .where(BudgetAudit.budget_id == budget.id, AuditQuestion.answered_at.is_(None), BudgetAudit.status != AuditStatus.CLOSED)
            .order_by(AuditQuestion.id)
        ).scalars()
    )


def answer(question_id: int, *, text: str | None, by: User, now: dt.datetime | None = None) -> AuditQuestion:
    """The person (or whoever arranges their care) answers; the audit is open again once
    nothing is waiting for them. Someone else's question: NotFound."""
    now = now or utcnow()
    asked = db.session.get(AuditQuestion, question_id)
    if asked is None or not accounts.can_act_for(by, asked.audit.budget.citizen):
        raise NotFound("No such question")
    reply = _text(text, "answer", missing="Enter your answer", longest=MAX_TEXT)
    with write_transaction():
        changed = db.session.execute(
            update(AuditQuestion)
            .where(AuditQuestion.id == asked.id, AuditQuestion.answered_at.is_(None))
            .values(answer=reply, answered_at=now, answered_by_id=by.id)
        ).rowcount
        if changed != 1:
            raise Conflict("This question has been answered already")
        waiting = db.session.execute(
            select(AuditQuestion.id).where(AuditQuestion.audit_id == asked.audit_id, AuditQuestion.answered_at.is_(None))
        ).first()
        if waiting is None:
            db.session.execute(
                update(BudgetAudit)
                .where(BudgetAudit.id == asked.audit_id, BudgetAudit.status == AuditStatus.WAITING)
                .values(status=AuditStatus.OPEN.value)
            )
        asker = db.session.get(User, asked.asked_by_id)
        notifications.notify(
            asker,
            "An answer to your audit question",
            f"{by.name} answered your question about budget {asked.audit.budget.public_id}: “{reply}”",
            link=f"/commissioner/audits/{asked.audit_id}",
        )
    db.session.expire(asked)
    return asked


def record(audit_id: int, *, findings: str | None, minutes, by: User, now: dt.datetime | None = None) -> BudgetAudit:
    """Save the findings so far and add the minutes spent."""
    found = get_audit(audit_id)
    _not_closed(found)
    text = (findings or "").strip()
    if len(text) > MAX_FINDINGS:
        raise ValidationError({"findings": f"Enter {MAX_FINDINGS:,} characters or fewer"})
    minutes = _minutes(minutes)
    open_audit(audit_id, by=by, now=now)
    with write_transaction():
        _still_open(
            update(BudgetAudit).where(BudgetAudit.id == found.id).values(findings=text, minutes_spent=BudgetAudit.minutes_spent + minutes)
        )
    db.session.refresh(found)
    return found
