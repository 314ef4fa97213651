"""Payment runs pay each provider what it is owed for delivered care, once: two people, the
ledger moving owed -> paid, the Bacs file's totals equal to the run's and the ledger's, and
nothing cancelled, disputed, missed or already paid ever paid."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AccountKind,
    LedgerAccount,
    LedgerTransaction,
    LineStatus,
    PaymentRunItem,
    PaymentRunLine,
    ProviderStatus,
    Role,
    RunStatus,
    TransactionKind,
    VisitRecord,
    VisitStatus,
)
from app.services import bookings, delivery, ledger_check, payment_runs
from app.services.errors import Conflict, ValidationError
from app.services.reports import service_levels
from app.services.reports.filters import ReportFilter, first_of_month
from tests.services.payment_runs.run_helpers import book_visit, confirmed_bank_account, council_bank_details, deliver, period_of


def _balance(kind: AccountKind) -> int:
    return int(
        db.session.execute(select(func.coalesce(func.sum(LedgerAccount.balance_pence), 0)).where(LedgerAccount.kind == kind)).scalar()
    )


@pytest.fixture
def market(make_provider, make_service, make_budget, make_user, policy):
    """Two providers with confirmed bank accounts, a budget, two commissioners, the council's bank."""
    council_bank_details()
    a, b = make_provider(name="Alpha Care"), make_provider(name="Beta & Sons Care")
    staff = make_user(Role.PROVIDER)
    for provider in (a, b):
        confirmed_bank_account(provider, staff)
    hours = [(d, "07:00", "21:00") for d in range(7)]
    return {
        "a": a,
        "b": b,
        "service_a": make_service(provider=a, price_pence=2_000, capacity=9, hours=hours),
        "service_b": make_service(provider=b, price_pence=3_000, capacity=9, hours=hours),
        "budget": make_budget(amount=200_000),
        "staff": staff,
        "preparer": make_user(Role.COMMISSIONER),
        "approver": make_user(Role.COMMISSIONER),
    }


def _prepare_and_approve(visit, policy, market):
    last_day, after = period_of(visit, policy)
    run = payment_runs.prepare(last_day, by=market["preparer"], now=after)
    return payment_runs.approve(run.id, by=market["approver"], now=after + dt.timedelta(hours=1))


def test_a_run_pays_each_provider_once_and_the_bacs_file_equals_the_ledger(app, market, policy):
    staff = market["staff"]
    v1 = deliver(book_visit(market["service_a"], market["budget"], staff=staff, policy=policy, units=2), staff)
    deliver(book_visit(market["service_b"], market["budget"], staff=staff, policy=policy, at="12:00"), staff)
    owed_before = _balance(AccountKind.PROVIDER_PAYABLE)
    assert owed_before == 7_000

    run = _prepare_and_approve(v1, policy, market)
    assert run.status is RunStatus.APPROVED and run.net_pence == 7_000 and run.visit_count == 2
    lines = {line.provider_id: line for line in payment_runs.lines_of(run)}
    assert {pid: (line.status, line.net_pence) for pid, line in lines.items()} == {
        market["a"].id: (LineStatus.PAID, 4_000),
        market["b"].id: (LineStatus.PAID, 3_000),
    }
    assert _balance(AccountKind.PROVIDER_PAYABLE) == 0 and _balance(AccountKind.PROVIDER_PAID) == 7_000
    assert run.pay_date > run.processing_date > run.ends_on
    assert all(line.mean_days_to_pay is not None and line.mean_days_to_pay > 0 for line in lines.values())

    text = payment_runs.bacs_file(run)
    records = text.split("\r\n")[:-1]
    credits = [r for r in records if len(r) == 100 and r[15:17] == "99"]
    assert sum(int(r[35:46]) for r in credits) == run.net_pence == _balance(AccountKind.PROVIDER_PAID)
    utl1 = next(r for r in records if r.startswith("UTL1"))
    assert int(utl1[17:30]) == run.net_pence and int(utl1[37:44]) == 2
    assert "BETA & SONS CARE" in text
    assert ledger_check.check() == []

    # The providers' service report shows days from delivery to payment, per provider and overall.
    month = first_of_month(run.pay_date)
    paid = service_levels.build(ReportFilter(month, month)).tables[-1]
    assert paid.slug == "days-to-pay" and {row[0] for row in paid.rows} == {"Alpha Care", "Beta & Sons Care"}
    assert paid.total[1:3] == (2, 2) and paid.total[3] == float(lines[market["a"].id].mean_days_to_pay)

    # Approving again, or preparing the same period again, moves nothing.
    again = payment_runs.approve(run.id, by=market["approver"])
    assert again.id == run.id and _balance(AccountKind.PROVIDER_PAID) == 7_000
    last_day, after = period_of(v1, policy)
    assert payment_runs.prepare(last_day, by=market["preparer"], now=after).id == run.id
    payouts = db.session.execute(
        select(func.count()).select_from(LedgerTransaction).where(LedgerTransaction.kind == TransactionKind.PAYOUT)
    )
    assert payouts.scalar() == 2


def test_the_one_who_prepared_a_run_cannot_approve_it(app, market, policy):
    staff = market["staff"]
    visit = deliver(book_visit(market["service_a"], market["budget"], staff=staff, policy=policy), staff)
    last_day, after = period_of(visit, policy)
    run = payment_runs.prepare(last_day, by=market["preparer"], now=after)
    with pytest.raises(payment_runs.SamePerson):
        payment_runs.approve(run.id, by=market["preparer"])
    assert payment_runs.get_run(run.id).status is RunStatus.PREPARED
    assert _balance(AccountKind.PROVIDER_PAID) == 0


def test_preparing_a_run_allows_its_one_big_statement_longer_than_a_page_may(app, market, policy, backend, monkeypatch):
    """On PostgreSQL the claim of a big period's visits may take longer than the app's
    statement timeout when the machine is busy: preparing allows it 10 minutes, for its own
    transaction only."""
    if backend != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no statement timeout")
    from sqlalchemy import text

    from app.services.payment_runs import preparing

    seen, claim = [], preparing._claim_items
    monkeypatch.setattr(
        preparing,
        "_claim_items",
        lambda *a, **k: (seen.append(db.session.execute(text("SHOW statement_timeout")).scalar()), claim(*a, **k)),
    )
    staff = market["staff"]
    visit = deliver(book_visit(market["service_a"], market["budget"], staff=staff, policy=policy), staff)
    last_day, after = period_of(visit, policy)
    run = payment_runs.prepare(last_day, by=market["preparer"], now=after)
    assert seen == ["10min"] and run.visit_count == 1
    assert db.session.execute(text("SHOW statement_timeout")).scalar() != "10min"


def test_nothing_cancelled_disputed_missed_or_undelivered_is_paid(app, market, policy, make_budget):
    staff, service, budget = market["staff"], market["service_a"], market["budget"]
    delivered = deliver(book_visit(service, budget, staff=staff, policy=policy, at="08:00"), staff)
    disputed = deliver(book_visit(service, budget, staff=staff, policy=policy, at="10:00"), staff)
    record = db.session.execute(select(VisitRecord).where(VisitRecord.visit_id == disputed.id)).scalar_one()
    delivery.dispute(record.id, reason="Nobody came", by=budget.citizen, now=disputed.starts_at + dt.timedelta(days=1))
    missed = book_visit(service, budget, staff=staff, policy=policy, at="12:00")
    delivery.record(
        delivery.Actuals(missed.id, missed_reason="Carer's car broke down"),
        provider=market["a"],
        by=staff,
        now=missed.starts_at + dt.timedelta(hours=1),
    )
    cancelled = book_visit(service, budget, staff=staff, policy=policy, at="14:00")
    bookings.cancel(bookings.get_booking(cancelled.booking.public_id), by=budget.citizen, policy=policy)
    undelivered = book_visit(service, budget, staff=staff, policy=policy, at="16:00")

    run = _prepare_and_approve(delivered, policy, market)
    paid_visits = set(db.session.execute(select(PaymentRunItem.visit_id)).scalars())
    assert paid_visits == {delivered.id}
    assert run.net_pence == 2_000
    assert db.session.get(type(missed), missed.id).status is VisitStatus.MISSED
    assert db.session.get(type(undelivered), undelivered.id).status is VisitStatus.HELD
    # The disputed visit's money is still owed (held out), and the ledger check knows it.
    standing = payment_runs.standing()
    assert (standing.owed, standing.disputed, standing.paid) == (0, 2_000, 2_000)
    assert ledger_check.check() == []


def test_an_overpayment_found_later_comes_off_the_next_run(app, market, policy):
    staff, service, budget = market["staff"], market["service_a"], market["budget"]
    first = deliver(book_visit(service, budget, staff=staff, policy=policy, units=2), staff)
    run1 = _prepare_and_approve(first, policy, market)
    assert run1.net_pence == 4_000
    record = db.session.execute(select(VisitRecord).where(VisitRecord.visit_id == first.id)).scalar_one()
    delivery.dispute(record.id, reason="Only one hour", by=budget.citizen, now=first.starts_at + dt.timedelta(days=2))
    delivery.settle(record.id, uphold=True, reason="ECM shows one hour", by=market["approver"], take_back_pence=2_000)
    assert _balance(AccountKind.PROVIDER_PAYABLE) == -2_000  # owed back by the provider
    assert ledger_check.check() == []

    # A visit in the next period: the next run pays it less what is owed back.
    later = book_visit(market["service_a"], budget, staff=staff, policy=policy, units=3, at="15:00")
    deliver(later, staff)
    last_day, after = period_of(first, policy)
    run2 = payment_runs.prepare(last_day + dt.timedelta(days=28), by=market["preparer"], now=after + dt.timedelta(days=28))
    payment_runs.approve(run2.id, by=market["approver"], now=after + dt.timedelta(days=28, hours=1))
    line = payment_runs.lines_of(run2)[0]
    assert (line.gross_pence, line.adjustments_pence, line.net_pence) == (6_000, -2_000, 4_000)
    advice = payment_runs.remittance(line)
    assert advice.total_pence == line.net_pence
    assert [a.amount_pence for a in advice.adjustments] == [-2_000]
    assert "ECM shows one hour" in advice.adjustments[0].reason
    assert _balance(AccountKind.PROVIDER_PAYABLE) == 0 and _balance(AccountKind.PROVIDER_PAID) == 8_000
    assert ledger_check.check() == []


def test_a_provider_suspended_after_delivering_is_still_paid(app, market, policy):
    from app.services import verification

    staff = market["staff"]
    visit = deliver(book_visit(market["service_b"], market["budget"], staff=staff, policy=policy), staff)
    verification.suspend(market["approver"], market["b"], "Safeguarding concern")
    assert market["b"].status is ProviderStatus.SUSPENDED
    run = _prepare_and_approve(visit, policy, market)
    assert [(line.provider_id, line.status, line.net_pence) for line in payment_runs.lines_of(run)] == [
        (market["b"].id, LineStatus.PAID, 3_000)
    ]


def test_no_confirmed_bank_account_withholds_the_line_until_there_is_one(app, market, policy, make_provider, make_service):
    staff = market["staff"]
    c = make_provider(name="Gamma Care")
    service_c = make_service(provider=c, price_pence=1_500, capacity=5, hours=[(d, "07:00", "21:00") for d in range(7)])
    visit = deliver(book_visit(service_c, market["budget"], staff=staff, policy=policy), staff)
    run = _prepare_and_approve(visit, policy, market)
    (line,) = payment_runs.lines_of(run)
    assert line.status is LineStatus.WITHHELD and "bank account" in line.withheld_reason and line.net_pence == 1_500
    assert run.net_pence == 0 and _balance(AccountKind.PROVIDER_PAYABLE) == 1_500
    assert db.session.execute(select(func.count()).select_from(PaymentRunItem)).scalar() == 0
    assert ledger_check.check() == []


def test_approval_needs_the_councils_bank_details_and_periods_must_be_real(app, market, policy):
    from app.models import CouncilSettings

    staff = market["staff"]
    visit = deliver(book_visit(market["service_a"], market["budget"], staff=staff, policy=policy), staff)
    last_day, after = period_of(visit, policy)
    with pytest.raises(ValidationError, match="not the last day of a payment period"):
        payment_runs.prepare(last_day - dt.timedelta(days=1), by=market["preparer"], now=after)
    with pytest.raises(ValidationError, match="has not ended yet"):
        payment_runs.prepare(last_day, by=market["preparer"], now=after - dt.timedelta(days=2))
    run = payment_runs.prepare(last_day, by=market["preparer"], now=after)
    db.session.get(CouncilSettings, 1).bank_account_number = ""
    db.session.commit()
    with pytest.raises(ValidationError, match="bank account"):
        payment_runs.approve(run.id, by=market["approver"], now=after)
    payment_runs.cancel(run.id, by=market["approver"], reason="Bank details missing")
    with pytest.raises(Conflict):
        payment_runs.approve(run.id, by=market["approver"], now=after)
    # Cancelled, its items are free: a new run for the period claims them again.
    assert payment_runs.prepare(last_day, by=market["preparer"], now=after).net_pence == 2_000


def test_ledger_check_finds_a_line_paid_twice(app, market, policy):
    staff = market["staff"]
    visit = deliver(book_visit(market["service_a"], market["budget"], staff=staff, policy=policy), staff)
    run = _prepare_and_approve(visit, policy, market)
    line = payment_runs.lines_of(run)[0]
    db.session.execute(
        PaymentRunLine.__table__.update()
        .where(PaymentRunLine.id == line.id)
        .values(net_pence=line.net_pence + 1, gross_pence=line.gross_pence + 1)
    )
    db.session.commit()
    assert [p.invariant for p in ledger_check.check()][:1] == ["payment run lines equal their items"]
