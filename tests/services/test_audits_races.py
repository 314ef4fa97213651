"""Two commissioners working the same audit, or drawing the same year's sample, at once, with
real threads and their own connections (as tests/services/test_money_concurrency.py does
for bookings).

Each race slows one side just after it has read the audit as still open, so the other side
closes it in between every time. Whatever the order, the audit is closed once, by one of
them, with one outcome; unspent money is recovered at most once (one ledger transaction);
the one who came second is told the audit is closed, never a technical error; and
`ledger_check.check()` stays clean. On SQLite every writer takes turns (BEGIN IMMEDIATE), so
these show the same logic there; the interleavings themselves only happen on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, AuditOutcome, AuditQuestion, AuditSample, AuditStatus, BudgetAudit, LedgerTransaction, Notification, User
from app.services import audits, budgets, ledger_check
from app.services.audits import balance_checks, closing, working
from app.services.errors import Conflict
from tests.helpers import run_at_once
from tests.services.test_money_concurrency import first_and_second, slow_down

AVAILABLE = 3 * 28_000  # three periods' money, all unspent


@pytest.fixture
def open_audit(make_budget, make_commissioner):
    """The audit of a budget holding three periods' money, two commissioners and the budget."""
    budget = make_budget(amount=28_000, periods=3)
    first, second = make_commissioner(), make_commissioner()
    found = audits.ask_for_check(budget, reason="Money is building up", by=first)
    audits.record(found.id, findings="Looked at the statement", minutes=15, by=first)
    return found.id, first.id, second.id, budget


def count(model, *where) -> int:
    return db.session.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


def close_as(audit_id: int, user_id: int, outcome: str, recover: int | None):
    def close():
        return audits.close(
            audit_id, outcome=outcome, findings=f"Closed by {user_id}", recover_pence=recover, by=db.session.get(User, user_id)
        ).id

    return close


@pytest.mark.parametrize(
    "slowed, other",
    [
        (("recovered", 28_000), ("recovered", 10_000)),
        (("recovered", 28_000), ("no_action", None)),
        (("no_action", None), ("recovered", 10_000)),
    ],
    ids=["both-recover", "recover-then-no-action", "no-action-then-recover"],
)
def test_two_commissioners_closing_the_same_audit_at_once_close_it_once(app, monkeypatch, open_audit, slowed, other):
    audit_id, first_id, second_id, budget = open_audit
    slow_down(monkeypatch, closing, "get_audit")  # the first has read the audit as open, then waits
    work = first_and_second(close_as(audit_id, first_id, *slowed), close_as(audit_id, second_id, *other))
    ok, errors = run_at_once(app, 2, work)
    assert ok == [("second", audit_id)], (ok, errors)
    assert len(errors) == 1 and isinstance(errors[0], Conflict) and str(errors[0]) == "This audit is closed already"

    db.session.expire_all()
    closed = db.session.get(BudgetAudit, audit_id)
    outcome, recover = other
    assert (closed.status, closed.outcome, closed.closed_by_id) == (AuditStatus.CLOSED, AuditOutcome(outcome), second_id)
    assert closed.findings == f"Closed by {second_id}" and closed.minutes_spent == 15
    recoveries = count(LedgerTransaction, LedgerTransaction.cause_type == "budget_audit", LedgerTransaction.cause_id == audit_id)
    assert recoveries == (1 if recover else 0)
    assert closed.recovered_pence == (recover or 0)
    assert budgets.summary(db.session.get(type(budget), budget.id)).available_pence == AVAILABLE - (recover or 0)
    assert count(AuditEvent, AuditEvent.action == "audit.closed") == 1
    assert count(AuditEvent, AuditEvent.action == "audit.money_recovered") == (1 if recover else 0)
    assert count(Notification, Notification.user_id == budget.citizen_id, Notification.subject.like("%finished checking%")) == 1
    assert ledger_check.check() == []


def test_two_commissioners_recovering_money_at_the_very_same_moment_recover_it_once(app, open_audit):
    """Released together, nobody slowed: whichever wins, one close and one recovery."""
    audit_id, first_id, second_id, budget = open_audit
    closers = [close_as(audit_id, first_id, "recovered", 28_000), close_as(audit_id, second_id, "recovered", 10_000)]
    ok, errors = run_at_once(app, 2, lambda i: (i, closers[i]()))
    assert len(ok) == 1 and len(errors) == 1, (ok, errors)
    assert isinstance(errors[0], Conflict) and str(errors[0]) == "This audit is closed already"
    winner = ok[0][0]
    db.session.expire_all()
    closed = db.session.get(BudgetAudit, audit_id)
    assert closed.closed_by_id == (first_id, second_id)[winner] and closed.recovered_pence == (28_000, 10_000)[winner]
    assert count(LedgerTransaction, LedgerTransaction.cause_type == "budget_audit", LedgerTransaction.cause_id == audit_id) == 1
    assert budgets.summary(db.session.get(type(budget), budget.id)).available_pence == AVAILABLE - closed.recovered_pence
    assert ledger_check.check() == []


@pytest.mark.parametrize("action", ["ask", "record"])
def test_asking_or_recording_while_another_closes_the_audit_leaves_it_closed(app, monkeypatch, open_audit, action):
    """The slowed side read the audit as open before the other closed it: its question or its
    findings are refused, and the closed audit keeps its outcome and findings."""
    audit_id, first_id, second_id, budget = open_audit

    def act():
        by = db.session.get(User, first_id)
        if action == "ask":
            return audits.ask(audit_id, question="What is the money for?", by=by).id
        return audits.record(audit_id, findings="Still looking", minutes=30, by=by).id

    slow_down(monkeypatch, working, "open_audit")  # decided the audit is open, then waits
    ok, errors = run_at_once(app, 2, first_and_second(act, close_as(audit_id, second_id, "no_action", None)))
    assert ok == [("second", audit_id)], (ok, errors)
    assert len(errors) == 1 and isinstance(errors[0], Conflict) and str(errors[0]) == "This audit is closed"
    db.session.expire_all()
    closed = db.session.get(BudgetAudit, audit_id)
    assert (closed.status, closed.outcome) == (AuditStatus.CLOSED, AuditOutcome.NO_ACTION)
    assert (closed.findings, closed.minutes_spent) == (f"Closed by {second_id}", 15)
    assert count(AuditQuestion, AuditQuestion.audit_id == audit_id) == 0
    assert audits.open_questions(db.session.get(type(budget), budget.id)) == []


@pytest.mark.parametrize("slowed", [False, True], ids=["at-once", "one-has-read-the-budgets"])
def test_two_commissioners_drawing_the_years_sample_at_once_get_one_sample_and_one_check_per_budget(
    app, monkeypatch, make_budget, make_commissioner, slowed
):
    """Both check every budget's balance and draw: the year has one sample, each budget one
    balance check, and both are shown the same sample (neither sees an error)."""
    made = [make_budget(amount=28_000) for _ in range(4)] + [make_budget(amount=28_000, periods=3)]
    year = made[0].starts_on.year
    first_id, second_id = make_commissioner().id, make_commissioner().id

    def draw_as(user_id, seed):
        return lambda: audits.draw(year, by=db.session.get(User, user_id), seed=seed).id

    if slowed:
        slow_down(monkeypatch, balance_checks, "budgets_in")  # has read which budgets are checked, then waits
        work = first_and_second(draw_as(first_id, 1), draw_as(second_id, 2))
    else:
        drawers = [draw_as(first_id, 1), draw_as(second_id, 2)]
        work = lambda i: drawers[i]()  # noqa: E731
    ok, errors = run_at_once(app, 2, work)
    assert errors == [] and len(ok) == 2, (ok, errors)
    sample_ids = {value[1] if slowed else value for value in ok}
    assert len(sample_ids) == 1 and count(AuditSample) == 1
    checks = audits.checks_of(year)
    assert sorted(check.budget_id for check in checks) == sorted(b.id for b in audits.budgets_in(year))
    assert {b.id for b in made} <= {check.budget_id for check in checks} and all(check.balances for check in checks)
    assert count(AuditEvent, AuditEvent.action == "audit.sample_drawn") == 1
