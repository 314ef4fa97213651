"""Spend facts are kept with every ledger entry of provider money, and the spend and
concentration reports read them: figures checked against sums worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.database import write_transaction
from app.extensions import db
from app.models import AccountKind, BudgetType, LedgerAccount, LedgerEntry, LedgerTransaction, Role, SpendFact, TransactionKind, WayOfPaying
from app.services import ledger_check
from app.services.reports import catalogue, concentration, spend, spend_facts
from app.services.reports.stats import hhi
from tests.services.reports.market_helpers import deliver_booking, wide_filter


def _payable_total() -> int:
    """What providers became owed for care, straight from the ledger: every entry into a
    provider payable account that is not a payout."""
    return int(
        db.session.execute(
            select(func.coalesce(func.sum(LedgerEntry.amount_pence), 0))
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerAccount.kind == AccountKind.PROVIDER_PAYABLE, LedgerTransaction.kind != TransactionKind.PAYOUT)
        ).scalar()
    )


def _market(make_service, make_budget, make_provider, make_user, policy):
    """Provider A: two delivered hours at £20 (managed budget) and one at £20 (ISF with A).
    Provider B: one delivered hour at £30 (managed budget). All home care."""
    a = make_provider(name="Alpha Care")
    b = make_provider(name="Beta Care")
    service_a = make_service(provider=a, price_pence=2_000, capacity=5, hours=[(d, "08:00", "20:00") for d in range(7)])
    service_b = make_service(provider=b, price_pence=3_000, capacity=5, hours=[(d, "08:00", "20:00") for d in range(7)])
    staff = make_user(Role.PROVIDER)
    managed = make_budget(amount=50_000)
    isf = make_budget(amount=50_000, budget_type=BudgetType.ISF, isf_provider=a)
    deliver_booking(service_a, managed, staff=staff, policy=policy, units=2)
    deliver_booking(service_a, isf, staff=staff, policy=policy, at="11:00")
    deliver_booking(service_b, managed, staff=staff, policy=policy, at="12:00")
    return a, b


def test_every_capture_gets_a_spend_fact_that_the_ledger_check_verifies(app, make_service, make_budget, make_provider, make_user, policy):
    a, b = _market(make_service, make_budget, make_provider, make_user, policy)
    facts = db.session.execute(select(SpendFact).order_by(SpendFact.entry_id)).scalars().all()
    assert sorted((f.provider_id, f.way, f.amount_pence) for f in facts) == sorted(
        [(a.id, WayOfPaying.MANAGED, 4_000), (a.id, WayOfPaying.ISF, 2_000), (b.id, WayOfPaying.MANAGED, 3_000)]
    )
    assert sum(f.amount_pence for f in facts) == _payable_total() == 9_000
    assert ledger_check.check() == []


def test_the_ledger_check_finds_a_spend_fact_that_drifted(app, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    with write_transaction():
        first = db.session.execute(select(SpendFact.entry_id).limit(1)).scalar()
        db.session.execute(update(SpendFact).where(SpendFact.entry_id == first).values(amount_pence=1))
    problems = [str(p) for p in ledger_check.check()]
    assert any("disagrees with the ledger on amount_pence" in p for p in problems)


def test_rebuild_writes_the_facts_a_database_is_missing(app, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    with write_transaction():
        db.session.execute(SpendFact.__table__.delete())
    assert any("have no spend fact" in str(p) for p in ledger_check.check())
    assert spend_facts.rebuild(batch=2) == 3
    assert spend_facts.rebuild() == 0
    assert ledger_check.check() == []


def test_the_spend_report_adds_up_by_way_provider_and_month(app, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    report = spend.build(wide_filter())
    assert report.figures[0].value == 9_000
    by_way = {row[0]: row[2] for row in report.table("by-way").rows}
    assert by_way == {
        WayOfPaying.MANAGED.label: 7_000,
        WayOfPaying.ISF.label: 2_000,
        WayOfPaying.DIRECT_PAYMENT.label: 0,
        WayOfPaying.SELF_FUNDED.label: 0,
    }
    by_provider = report.table("by-provider")
    assert by_provider.rows == [("Alpha Care", 6_000, 6_000 / 9_000), ("Beta Care", 3_000, 3_000 / 9_000)]
    assert by_provider.total == ("Total", 9_000, 1.0)
    assert report.table("by-month").total[-1] == 9_000
    only_isf = spend.build(wide_filter(way=WayOfPaying.ISF))
    assert only_isf.figures[0].value == 2_000


def test_people_counts_under_five_are_suppressed_when_the_report_is_run(app, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    report = catalogue.run("spend", wide_filter())
    people = {row[0]: row[1] for row in report.table("by-way").rows}
    # Two people, one of them in two ways: every non-zero count is fewer than 5.
    assert people[WayOfPaying.MANAGED.label] == "fewer than 5"
    assert people[WayOfPaying.ISF.label] == "fewer than 5"
    assert people[WayOfPaying.SELF_FUNDED.label] == 0
    assert report.table("by-way").total[1] == "fewer than 5"


def test_concentration_is_the_hhi_of_delivered_spend(app, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    report = concentration.build(wide_filter())
    # Shares 66.67% and 33.33%: 4,444.4 + 1,111.1 = 5,555.6 (highly concentrated); top 3 hold it all.
    (row,) = report.table("by-category").rows
    assert row[1] == 2 and row[2] == 5555.6 and row[3] == "Highly concentrated" and row[4] == 1.0
    assert report.figures[0].value == round(hhi([6_000, 3_000]), 1) == 5555.6


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(plan=st.lists(st.tuples(st.integers(0, 1), st.integers(1, 3), st.integers(0, 3)), min_size=1, max_size=6))
def test_spend_totals_equal_the_ledger_on_any_history(app, make_service, make_budget, make_provider, make_user, policy, plan):
    """Whatever is booked and delivered (in whole, in part, or not at all), the spend report's
    total is the ledger's provider money to the penny."""
    providers = [make_provider(), make_provider()]
    services = [
        make_service(provider=p, price_pence=1_234 + 17 * i, capacity=9, hours=[(d, "07:00", "21:00") for d in range(7)])
        for i, p in enumerate(providers)
    ]
    staff = make_user(Role.PROVIDER)
    budget = make_budget(amount=200_000)
    for n, (which, units, delivered) in enumerate(plan):
        visit = deliver_booking(
            services[which],
            budget,
            staff=staff,
            policy=policy,
            units=units,
            delivered_units=min(delivered, units) or None,
            at=f"{8 + n:02d}:00",
        )
        assert visit.status.value == "delivered"
    report = spend.build(wide_filter())
    assert report.figures[0].value == _payable_total()
    assert report.table("by-provider").total[1] == _payable_total()
    assert ledger_check.check() == []


def test_the_rebuild_command_restores_missing_facts(app, runner, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    with write_transaction():
        db.session.execute(SpendFact.__table__.delete())
    result = runner.invoke(args=["reports", "rebuild-spend"])
    assert result.exit_code == 0, result.output
    assert "Wrote 3 spend facts." in result.output
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


def test_the_ledger_check_finds_a_fact_for_no_provider_money(app, make_service, make_budget, make_provider, make_user, policy):
    _market(make_service, make_budget, make_provider, make_user, policy)
    funding_entry = db.session.execute(
        select(LedgerEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.kind == AccountKind.BUDGET)
        .order_by(LedgerEntry.id)
        .limit(1)
    ).scalar_one()
    with write_transaction():
        copied = dict(db.session.execute(select(SpendFact.__table__).limit(1)).mappings().one())
        db.session.execute(SpendFact.__table__.insert().values({**copied, "entry_id": funding_entry}))
    assert [str(p) for p in ledger_check.check()] == [
        f"spend facts: 1 spend facts stand for no ledger entry of provider money (first: entry {funding_entry})"
    ]


def test_the_ledger_check_names_the_first_fact_that_drifted_and_every_way_it_did(
    app, make_service, make_budget, make_provider, make_user, policy
):
    _market(make_service, make_budget, make_provider, make_user, policy)
    first, second = db.session.execute(select(SpendFact.entry_id).order_by(SpendFact.entry_id).limit(2)).scalars()
    with write_transaction():
        db.session.execute(update(SpendFact).where(SpendFact.entry_id == second).values(district="ZZ9"))
        db.session.execute(
            update(SpendFact)
            .where(SpendFact.entry_id == first)
            .values(month=dt.date(1999, 1, 1), way=WayOfPaying.SELF_FUNDED, effective_at=dt.datetime(1999, 1, 2, tzinfo=dt.UTC))
        )
    assert [str(p) for p in ledger_check.check()] == [
        f"spend facts: the spend fact for entry {first} disagrees with the ledger on effective_at, month, way"
    ]


@pytest.mark.parametrize(
    "effective_at, month",
    [
        (dt.datetime(2026, 3, 31, 23, 30, tzinfo=dt.UTC), dt.date(2026, 4, 1)),  # British Summer Time: already April in the UK
        (dt.datetime(2026, 1, 31, 23, 30, tzinfo=dt.UTC), dt.date(2026, 1, 1)),  # GMT: still January
        (dt.datetime(2026, 10, 31, 23, 30, tzinfo=dt.UTC), dt.date(2026, 10, 1)),  # the clocks went back: still October
    ],
)
def test_the_ledger_check_counts_a_fact_in_its_uk_calendar_month(app, effective_at, month):
    from app.services import ledger
    from app.services.reports.filters import add_months
    from tests.services.money_helpers import bare_visit

    visit_id = bare_visit()
    with write_transaction():
        payable = ledger.account(AccountKind.PROVIDER_PAYABLE, "provider:month-test", "Test provider")
        legs = [(ledger.council_funding_account(), -500), (payable, 500)]
        cause = ("booking_visit", visit_id)
        ledger.post(TransactionKind.CAPTURE, legs, key="eom", cause=cause, actor=ledger.Actor.system("t"), effective_at=effective_at)
    fact = db.session.execute(select(SpendFact)).scalar_one()
    assert fact.month == month
    assert ledger_check.check() == []
    # A fact put in the UTC month instead, or the month either side, is caught.
    for wrong in sorted({effective_at.date().replace(day=1), add_months(month, -1), add_months(month, 1)} - {month}):
        with write_transaction():
            db.session.execute(update(SpendFact).values(month=wrong))
        assert [str(p) for p in ledger_check.check()] == [
            f"spend facts: the spend fact for entry {fact.entry_id} disagrees with the ledger on month"
        ]
