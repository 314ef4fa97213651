"""A payment run's approval killed with SIGKILL at any moment, then started again, pays every
provider exactly once; two approvals at the same moment pay every provider once. Real OS
processes on PostgreSQL (what CI runs; locally start it as the README says)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import random
import signal
import time
import traceback

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AccountKind, LedgerAccount, LedgerTransaction, LineStatus, PaymentRunLine, Role, RunStatus, TransactionKind
from app.services import ledger_check, payment_runs
from tests.services.payment_runs.run_helpers import book_visit, confirmed_bank_account, council_bank_details, deliver, period_of

PROVIDERS = 6


def _approver(db_url: str, run_id: int, user_id: int, pause: float, started, results) -> None:
    """A separate process approving the run one line per batch, pausing inside each line's
    transaction after its payout is posted (so a kill can land mid-transaction)."""
    try:
        from app import create_app
        from app.models import User
        from app.services.payment_runs import approving

        app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "TESTING": True})
        real_pay_lines = approving._pay_lines

        def slow_pay_lines(*args, **kwargs):
            real_pay_lines(*args, **kwargs)
            started.set()
            time.sleep(pause)

        approving._pay_lines = slow_pay_lines
        approving.BATCH = 1
        with app.app_context():
            approving.approve(run_id, by=db.session.get(User, user_id))
        results.put("ok")
    except BaseException:
        results.put(traceback.format_exc())


@pytest.fixture
def prepared_run(app, backend, make_provider, make_service, make_budget, make_user, policy):
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite runs one writer at a time")
    council_bank_details()
    staff = make_user(Role.PROVIDER)
    budget = make_budget(amount=500_000)
    visit = None
    for n in range(PROVIDERS):
        provider = make_provider(name=f"Provider {n}")
        confirmed_bank_account(provider, staff)
        service = make_service(provider=provider, price_pence=1_000 + n, capacity=9, hours=[(d, "07:00", "21:00") for d in range(7)])
        visit = deliver(book_visit(service, budget, staff=staff, policy=policy, at=f"{8 + n:02d}:00"), staff)
    last_day, after = period_of(visit, policy)
    run = payment_runs.prepare(last_day, by=make_user(Role.COMMISSIONER), now=after)
    approver = make_user(Role.COMMISSIONER)
    db.session.commit()
    return run.id, approver, sum(1_000 + n for n in range(PROVIDERS))


def _paid_once(run_id: int, total: int) -> None:
    db.session.rollback()
    lines = db.session.execute(select(PaymentRunLine).where(PaymentRunLine.run_id == run_id)).scalars().all()
    assert len(lines) == PROVIDERS and all(line.status is LineStatus.PAID for line in lines)
    payouts = db.session.execute(
        select(LedgerTransaction.cause_id, func.count())
        .where(LedgerTransaction.kind == TransactionKind.PAYOUT)
        .group_by(LedgerTransaction.cause_id)
    ).all()
    assert sorted(payouts) == sorted((line.id, 1) for line in lines)
    paid = db.session.execute(select(LedgerAccount.balance_pence).where(LedgerAccount.kind == AccountKind.PROVIDER_PAID)).scalar_one()
    assert paid == total
    assert ledger_check.check() == []


def test_an_approval_killed_at_any_moment_and_run_again_pays_each_provider_once(app, prepared_run):
    run_id, approver, total = prepared_run
    ctx = multiprocessing.get_context("spawn")
    started, results = ctx.Event(), ctx.Queue()
    process = ctx.Process(target=_approver, args=(app.config["SQLALCHEMY_DATABASE_URI"], run_id, approver.id, 0.2, started, results))
    process.start()
    try:
        assert started.wait(60), "the approving process never paid a line"
        time.sleep(random.uniform(0.0, 0.2 * PROVIDERS / 2))  # somewhere in the middle
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.join(10)
    db.session.rollback()
    half_done = db.session.execute(
        select(func.count()).where(PaymentRunLine.run_id == run_id, PaymentRunLine.status == LineStatus.PAID)
    ).scalar()
    assert 0 <= half_done < PROVIDERS
    assert payment_runs.get_run(run_id).status is RunStatus.APPROVING
    assert ledger_check.check() == []  # what was killed mid-transaction left nothing behind

    run = payment_runs.approve(run_id, by=approver, now=dt.datetime.now(dt.UTC))
    assert run.status is RunStatus.APPROVED
    _paid_once(run_id, total)


def test_two_approvals_at_once_pay_each_provider_once(app, prepared_run):
    run_id, approver, total = prepared_run
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    events = [ctx.Event() for _ in range(2)]  # kept alive until the children have them
    processes = [ctx.Process(target=_approver, args=(url, run_id, approver.id, 0.05, event, results)) for event in events]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    outcomes = [results.get(timeout=5) for _ in processes]
    assert all(outcome == "ok" or "was paid by someone else" in outcome for outcome in outcomes), outcomes
    payment_runs.approve(run_id, by=approver)  # whichever lost finishes nothing twice
    _paid_once(run_id, total)
