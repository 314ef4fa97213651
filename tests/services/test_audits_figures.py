"""The yearly balance check and the unspent-money flag read every budget's figures in a few
grouped queries: they must be exactly what ``budgets.summary`` says of each budget, for
budgets with every kind of history (funding, money set aside, spent, taken back after a
dispute, reversed, recovered by an audit and given back, an ISF moved, late cancellations,
visits booked for periods not yet funded)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import BookingSchedule, BudgetPeriod, BudgetType, PersonalBudget, Role
from app.services import audits, bookings, budgets, delivery, ledger_check
from app.services.audits import budget_figures
from app.services.ledger import Actor
from tests.services.money_helpers import future_day, request_for

PRICE = 2_000


@pytest.fixture
def histories(make_provider, make_provider_staff, make_service, make_citizen, make_budget, make_user, policy):
    """Budgets, each with a different history, by what happened to it."""
    provider, other = make_provider(name="Nene Valley Home Care"), make_provider(name="Fenland Support")
    staff = make_provider_staff(provider)
    service = make_service(provider=provider, price_pence=PRICE, capacity=10)
    commissioner = make_user(Role.COMMISSIONER)
    day = future_day(policy)

    def book(budget, *, at="10:00", accept=True, **extra):
        citizen = budget.citizen
        booking = bookings.create(request_for(service, budget, day=day, at=at, **extra), citizen=citizen, booker=citizen, policy=policy)
        if accept:
            bookings.accept(booking, by=staff)
        return booking

    made = {"funded twice": make_budget(amount=30_000, periods=2)}

    disputed = made["set aside, spent and partly taken back"] = make_budget(citizen=make_citizen(), amount=50_000)
    visit = book(disputed, at="08:00").visits[0]
    started = visit.starts_at
    actuals = delivery.Actuals(visit.id, started, started + dt.timedelta(hours=1))
    record = delivery.record(actuals, provider=provider, by=staff, now=started + dt.timedelta(hours=2))
    delivery.dispute(record.id, reason="The carer left early", by=disputed.citizen, now=started + dt.timedelta(hours=3))
    delivery.settle(record.id, uphold=True, reason="Left after 45 minutes", by=commissioner, take_back_pence=500)
    book(disputed, at="12:00")  # still set aside

    reversed_in = made["a payment in reversed"] = make_budget(amount=30_000, periods=2)
    later = db.session.query(BudgetPeriod).filter_by(budget_id=reversed_in.id).order_by(BudgetPeriod.starts_on).all()[1]
    budgets.reverse_money_in(reversed_in, later.transaction_id, by=commissioner, reason="The budget ends this period")

    for name, give_back in (("recovered by an audit", False), ("recovered by an audit and given back", True)):
        budget = made[name] = make_budget(amount=28_000, periods=3)
        found = audits.ask_for_check(budget, reason="Money building up", by=commissioner)
        audits.close(found.id, outcome="recovered", findings="Four weeks' worth back", recover_pence=28_000, by=commissioner)
        if give_back:
            audits.undo_recovery(found.id, reason="The money was committed to a respite week", by=commissioner)

    isf = made["an ISF moved to another provider"] = make_budget(amount=40_000, budget_type=BudgetType.ISF, isf_provider=provider)
    budgets.move_isf(isf, other, actor=Actor.system("test"))

    late = made["a visit cancelled late"] = make_budget(amount=50_000)
    booking = book(late, at="14:00")
    bookings.cancel(booking, by=late.citizen, policy=policy, now=booking.visits[0].starts_at - dt.timedelta(hours=2))

    weekly = made["booked beyond the funded period"] = make_budget(amount=50_000)
    book(weekly, at="16:00", accept=False, schedule=BookingSchedule.WEEKLY, weekdays=(day.weekday(),), weeks=8)
    db.session.expire_all()
    return {name: db.session.get(PersonalBudget, budget.id) for name, budget in made.items()}


def test_every_budgets_figures_at_once_are_what_the_budget_summary_says(app, histories):
    expected = {budget.id: budgets.summary(budget) for budget in histories.values()}
    assert budget_figures.figures_of(expected) == expected
    # The histories really differ: money set aside, spent, taken back, booked for later...
    by_name = {name: expected[budget.id] for name, budget in histories.items()}
    assert by_name["set aside, spent and partly taken back"].held_pence == PRICE
    assert by_name["set aside, spent and partly taken back"].spent_pence == PRICE - 500
    assert by_name["a payment in reversed"].funded_pence == 30_000
    assert by_name["recovered by an audit"].funded_pence == 3 * 28_000 - 28_000
    assert by_name["recovered by an audit and given back"].funded_pence == 3 * 28_000
    assert by_name["a visit cancelled late"].spent_pence == PRICE
    assert by_name["booked beyond the funded period"].booked_later_pence > 0
    assert len(budgets.budget_accounts(histories["an ISF moved to another provider"])) == 2
    assert all(figures.balances for figures in expected.values())
    assert ledger_check.check() == []


def test_the_figures_take_one_query_however_many_budgets(app, histories, monkeypatch):
    """One grouped query for any number of budgets (one per ``CHUNK`` of them): not a few
    queries a budget. A budget with no money yet reads as all zeros."""
    ids = [budget.id for budget in histories.values()]
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        figures = budget_figures.figures_of(ids)
        assert len(statements) == 1
        statements.clear()
        monkeypatch.setattr(budget_figures, "CHUNK", 3)
        assert budget_figures.figures_of(ids) == figures  # read in chunks of 3: the same answers
        assert len(statements) == -(-len(ids) // 3)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    nobody = max(ids) + 1000
    assert budget_figures.figures_of([nobody])[nobody] == budgets.BudgetSummary(0, 0, 0, 0, 0, 0)


def test_the_balance_check_and_the_unspent_flag_read_the_same_figures(app, histories):
    """The yearly check keeps each budget's summary; the unspent flag names its available money."""
    year = histories["funded twice"].starts_on.year
    checks = {check.budget_id: check for check in audits.check_year(year)}
    for budget in histories.values():
        figures, check = budgets.summary(budget), checks[budget.id]
        assert (check.funded_pence, check.available_pence, check.held_pence, check.spent_pence, check.balances) == (
            figures.funded_pence,
            figures.available_pence,
            figures.held_pence,
            figures.spent_pence,
            figures.balances,
        )
    given_back = histories["recovered by an audit and given back"]
    [unspent] = [reason for code, reason in audits.flags_for([given_back], year)[given_back.id] if code == "unspent"]
    assert unspent == "£840 unspent: more than 8 weeks' worth (£560)"
