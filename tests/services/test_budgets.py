"""Personal budgets: set-up, 4-weekly funding, roll-over, ISFs and statements."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import BookingSchedule, BudgetPeriod, BudgetType, LedgerTransaction, Role, TransactionKind, VisitStatus
from app.services import bookings, budgets, ledger, ledger_check
from app.services.errors import Conflict, ValidationError
from app.services.ledger import Actor
from tests.services.money_helpers import funded_period, future_day, request_for, today

SYSTEM = Actor.system("test")


def _period(policy, offset=0):
    """The first day of the period test budgets are funded for (``offset`` periods on)."""
    start, _ = funded_period(policy)
    return start + dt.timedelta(days=28 * offset)


def _current(policy):
    return policy.period_containing(today())[0]


def test_a_commissioner_sets_up_a_budget_and_it_is_funded_at_once(make_user, policy):
    citizen = make_user(Role.CITIZEN)
    commissioner = make_user(Role.COMMISSIONER)
    budget = budgets.create_budget(
        citizen=citizen,
        budget_type=BudgetType.MANAGED_ACCOUNT,
        amount_per_period_pence=84_000,
        starts_on=_current(policy),
        outcomes=["Get out to the shops", "  ", "See friends"],
        created_by=commissioner,
        policy=policy,
    )
    assert [o.text for o in budget.outcomes] == ["Get out to the shops", "See friends"]
    figures = budgets.summary(budget)
    assert figures.funded_pence == figures.available_pence == 84_000
    assert figures.balances
    period = db.session.execute(select(BudgetPeriod).where(BudgetPeriod.budget_id == budget.id)).scalar_one()
    assert period.starts_on == _current(policy) and period.funded_pence == 84_000
    funding = db.session.get(LedgerTransaction, period.transaction_id)
    assert funding.actor_user_id == commissioner.id


def test_a_budget_starting_mid_period_gets_a_pro_rata_share(make_user, policy):
    start = _period(policy) + dt.timedelta(days=7)
    citizen = make_user(Role.CITIZEN)
    budget = budgets.create_budget(
        citizen=citizen,
        budget_type=BudgetType.MANAGED_ACCOUNT,
        amount_per_period_pence=28_000,
        starts_on=start,
        outcomes=["x"],
        created_by=None,
        policy=policy,
        today=start,
    )
    # 21 of the period's 28 days remain: three quarters of the amount.
    assert budgets.summary(budget).funded_pence == 21_000


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"amount_per_period_pence": 0}, "amount"),
        ({"amount_per_period_pence": -500}, "amount"),
        ({"amount_per_period_pence": 10.5}, "amount"),
        ({"amount_per_period_pence": 2_000_001}, "amount"),
        ({"outcomes": []}, "outcomes"),
        ({"outcomes": ["x" * 201]}, "outcomes"),
        ({"budget_type": BudgetType.ISF}, "isf_provider"),
    ],
)
def test_budget_set_up_rejects_bad_input_and_creates_nothing(make_user, policy, kwargs, field):
    citizen = make_user(Role.CITIZEN)
    args = {
        "citizen": citizen,
        "budget_type": BudgetType.MANAGED_ACCOUNT,
        "amount_per_period_pence": 10_000,
        "starts_on": _period(policy),
        "outcomes": ["Stay well"],
        "created_by": None,
        "policy": policy,
    }
    args.update(kwargs)
    with pytest.raises(ValidationError) as raised:
        budgets.create_budget(**args)
    assert field in raised.value.errors
    assert budgets.budgets_for_citizen(citizen) == []


def test_budgets_are_for_citizens_only(make_user, policy):
    with pytest.raises(ValidationError) as raised:
        budgets.create_budget(
            citizen=make_user(Role.PROVIDER),
            budget_type=BudgetType.MANAGED_ACCOUNT,
            amount_per_period_pence=100,
            starts_on=_period(policy),
            outcomes=["x"],
            created_by=None,
            policy=policy,
        )
    assert "citizen" in raised.value.errors


def test_funding_twice_for_the_same_period_changes_nothing_and_money_rolls_over(make_budget, policy, runner):
    budget = make_budget(amount=30_000)
    next_period = _period(policy, 1).isoformat()
    first = runner.invoke(args=["budgets", "fund", "--period-start", next_period])
    assert first.exit_code == 0, first.output
    assert "Funded 1 budgets, £300 in all" in first.output
    from app.models import AuditEvent

    run = db.session.query(AuditEvent).filter_by(action="budgets.funded").one()
    assert run.after["budgets_funded"] == 1 and run.after["total_pence"] == 30_000
    second = runner.invoke(args=["budgets", "fund", "--period-start", next_period])
    assert "Funded 0 budgets, £0 in all; 1 already funded" in second.output
    figures = budgets.summary(budget)
    # Unspent money from the first period is still there: 2 x £300.
    assert figures.funded_pence == figures.available_pence == 60_000
    assert db.session.execute(select(func.count(BudgetPeriod.id))).scalar_one() == 2
    assert runner.invoke(args=["ledger", "check"]).exit_code == 0


@pytest.mark.parametrize("bad, message", [("2026-13-01", "YYYY-MM-DD"), ("not-a-date", "YYYY-MM-DD")])
def test_funding_command_rejects_bad_dates(runner, bad, message):
    result = runner.invoke(args=["budgets", "fund", "--period-start", bad])
    assert result.exit_code != 0 and message in result.output


def test_funding_command_explains_period_boundaries(runner, policy):
    day = _period(policy) + dt.timedelta(days=1)
    result = runner.invoke(args=["budgets", "fund", "--period-start", day.isoformat()])
    assert result.exit_code != 0
    assert "is not the start of a 4-week period" in result.output
    assert _period(policy).isoformat() in result.output


def test_an_isf_pays_only_its_own_provider_and_moves_with_its_balance(make_budget, make_service, make_provider, policy):
    holder, other = make_provider(name="Holder"), make_provider(name="Other")
    budget = make_budget(amount=40_000, budget_type=BudgetType.ISF, isf_provider=holder)
    theirs = make_service(provider=other)
    with pytest.raises(ValidationError) as raised:
        bookings.plan(request_for(theirs, budget, day=future_day(policy)), citizen=budget.citizen, policy=policy)
    assert "held with Holder" in raised.value.errors["payment"]

    ours = make_service(provider=holder, price_pence=2_000)
    booking = bookings.create(
        request_for(ours, budget, day=future_day(policy)), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    with pytest.raises(Conflict, match="upcoming visit"):
        budgets.move_isf(budget, other, actor=SYSTEM)
    bookings.cancel(booking, by=budget.citizen, policy=policy)

    move = budgets.move_isf(budget, other, actor=SYSTEM)
    from app.models import AuditEvent

    moved = db.session.query(AuditEvent).filter_by(action="budget.isf_moved").one()
    assert (moved.before, moved.after) == ({"isf_provider_id": holder.id}, {"isf_provider_id": other.id, "moved_pence": 40_000})
    assert move.moved_pence == 40_000 and move.transaction.kind is TransactionKind.ISF_TRANSFER
    db.session.refresh(budget)
    assert budget.isf_provider_id == other.id
    figures = budgets.summary(budget)
    assert figures.available_pence == 40_000 and figures.balances
    assert ledger.balance(budgets.spending_account(budget)) == 40_000
    # Now it pays the new provider and not the old one.
    bookings.plan(request_for(theirs, budget, day=future_day(policy)), citizen=budget.citizen, policy=policy)
    with pytest.raises(ValidationError):
        bookings.plan(request_for(ours, budget, day=future_day(policy)), citizen=budget.citizen, policy=policy)
    assert ledger_check.check() == []


def test_next_period_holds_committed_visits_first_and_reports_a_shortfall(make_budget, make_service, policy):
    budget = make_budget(amount=5_000)
    service = make_service(price_pence=2_000, capacity=10)
    first_day_next = _period(policy, 1)
    # Three weekly visits in the next (unfunded) period: committed, not yet held.
    request = request_for(
        service, budget, day=first_day_next, schedule=BookingSchedule.WEEKLY, weekdays=(first_day_next.weekday(),), weeks=3
    )
    booking = bookings.create(request, citizen=budget.citizen, booker=budget.citizen, policy=policy)
    assert [v.status for v in booking.visits] == [VisitStatus.SCHEDULED] * 3
    assert budgets.summary(budget).booked_later_pence == 6_000

    # Funding the next period (£50 new + £50 carried over) holds all three (£60).
    budgets.fund_budget(budget, first_day_next, policy=policy, actor=SYSTEM)
    db.session.expire_all()
    statuses = [v.status for v in bookings.get_booking(booking.public_id).visits]
    assert statuses == [VisitStatus.HELD, VisitStatus.HELD, VisitStatus.HELD]
    assert budgets.summary(budget).available_pence == 4_000

    small = make_budget(amount=3_000)
    request = request_for(
        service, small, day=first_day_next, schedule=BookingSchedule.WEEKLY, weekdays=(first_day_next.weekday(),), weeks=3
    )
    short_booking = bookings.create(request, citizen=small.citizen, booker=small.citizen, policy=policy)
    result = budgets.fund_budget(small, first_day_next, policy=policy, actor=SYSTEM)
    # £30 carried over + £30 new = £60: exactly the three £20 visits.
    assert result.held_visits == 3 and result.short_visits == []

    tiny = make_budget(amount=2_500)
    request = request_for(service, tiny, day=first_day_next, schedule=BookingSchedule.WEEKLY, weekdays=(first_day_next.weekday(),), weeks=3)
    tiny_booking = bookings.create(request, citizen=tiny.citizen, booker=tiny.citizen, policy=policy)
    result = budgets.fund_budget(tiny, first_day_next, policy=policy, actor=SYSTEM)
    # £25 + £25 = £50: the two earliest visits are held, the last one is short.
    assert result.held_visits == 2 and len(result.short_visits) == 1
    assert result.period.shortfall_pence == 2_000
    db.session.expire_all()
    tiny_booking = bookings.get_booking(tiny_booking.public_id)
    assert [v.status for v in tiny_booking.visits] == [VisitStatus.HELD, VisitStatus.HELD, VisitStatus.SHORT]
    assert any(e.kind == "money_short" and "Not enough money" in e.message for e in tiny_booking.events)
    assert budgets.summary(tiny).short_pence == 2_000
    assert short_booking.id and ledger_check.check() == []


def test_statement_for_a_period_adds_up(make_budget, make_service, make_user, policy):
    budget = make_budget(amount=50_000)
    service = make_service(price_pence=2_500)
    provider_user = make_user(Role.PROVIDER)
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy), units=2), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    bookings.accept(booking, by=provider_user)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=provider_user, delivered_units=1, now=visit.starts_at + dt.timedelta(hours=2))
    # From today's period to the end of the funded one (the same period, but for the last
    # week of a period): the booking is made today, the visit happens in the funded period.
    start, end = policy.period_containing(today())[0], funded_period(policy)[1]
    statement = budgets.statement(budget, start, end)
    assert statement.opening_available_pence == 0
    assert statement.money_in_pence == 50_000
    assert statement.held_pence == 5_000
    assert statement.paid_pence == 2_500
    assert statement.released_pence == 2_500
    assert statement.closing_available_pence == 47_500 == budgets.summary(budget).available_pence
    assert statement.closing_held_pence == 0
    assert [line.available_after_pence for line in statement.lines] == [50_000, 45_000, 47_500]

    # The next period opens with what this one closed with.
    following = budgets.statement(budget, end, end + dt.timedelta(days=28))
    assert following.opening_available_pence == 47_500 and following.lines == []
    # As known before anything was written, the statement was empty.
    assert budgets.statement(budget, start, end, known_at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).lines == []


def test_statement_shows_visits_paid_in_full(make_budget, make_service, make_user, policy):
    budget = make_budget(amount=50_000)
    service = make_service(price_pence=2_000)
    staff = make_user(Role.PROVIDER)
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy)), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    # From today's period to the end of the funded one (the same period, but for the last
    # week of a period): the booking is made today, the visit happens in the funded period.
    start, end = policy.period_containing(today())[0], funded_period(policy)[1]
    st = budgets.statement(budget, start, end)
    # A full payment comes out of held money: it is a line of its own, with nothing released.
    assert (st.held_pence, st.paid_pence, st.released_pence) == (2_000, 2_000, 0)
    assert st.closing_held_pence == 0 and st.closing_available_pence == 48_000
    assert any(line.paid_pence == 2_000 and "delivered" in line.description for line in st.lines)


# "As at": the statement as the ledger stood on a date ------------------------------------------


def test_a_statement_as_known_before_a_backdated_payment_was_recorded(make_user, policy, monkeypatch):
    """A funding run that failed last period is run late: its money counts from that
    period's first day (business time) but was written today. The statement as the ledger
    stood before today does not show it; today's does, and the periods after it open higher."""
    from app.services.ledger import posting as ledger_service

    current = _current(policy)
    previous = current - dt.timedelta(days=28)
    real_now = ledger_service.utcnow()
    # Set up three days ago: this period is paid in then.
    monkeypatch.setattr(ledger_service, "utcnow", lambda: real_now - dt.timedelta(days=3))
    budget = budgets.create_budget(
        citizen=make_user(Role.CITIZEN),
        budget_type=BudgetType.MANAGED_ACCOUNT,
        amount_per_period_pence=28_000,
        starts_on=previous,
        outcomes=["Stay well"],
        created_by=None,
        policy=policy,
        today=today(),
    )
    monkeypatch.setattr(ledger_service, "utcnow", lambda: real_now)
    # Today: the missed run for last period, back-dated to its first day.
    budgets.fund_budget(budget, previous, policy=policy, actor=SYSTEM)

    yesterday = real_now - dt.timedelta(days=1)
    then = budgets.statement(budget, previous, current, known_at=yesterday)
    now = budgets.statement(budget, previous, current)
    assert (then.money_in_pence, then.lines) == (0, [])
    assert now.money_in_pence == 28_000 and [line.money_in_pence for line in now.lines] == [28_000]
    assert now.lines[0].at == policy_midnight(previous)
    # This period: as known yesterday it opened at nothing; as known now, with last period's money.
    assert budgets.statement(budget, current, current + dt.timedelta(days=28), known_at=yesterday).opening_available_pence == 0
    this_period = budgets.statement(budget, current, current + dt.timedelta(days=28))
    assert this_period.opening_available_pence == 28_000 and this_period.closing_available_pence == 56_000
    assert ledger_check.check() == []


def policy_midnight(day):
    from app.uk_time import local_midnight

    return local_midnight(day)


# Individual Service Funds ---------------------------------------------------------------------


def test_moving_an_isf_again_moves_every_balance_left_with_earlier_providers(make_budget, make_provider, policy):
    from app.database import write_transaction

    first, second, third = make_provider(name="First"), make_provider(name="Second"), make_provider(name="Third")
    budget = make_budget(amount=30_000, budget_type=BudgetType.ISF, isf_provider=first)
    budgets.move_isf(budget, second, actor=SYSTEM)
    # Money that reached the first provider's account after the move (a late release, an
    # adjustment): it must not be stranded there.
    with write_transaction():
        old = ledger.budget_account(budget, first)
        ledger.post(
            TransactionKind.ADJUSTMENT,
            [(ledger.council_funding_account(), -1_500), (old, 1_500)],
            key="late-money",
            cause=("test", None),
            actor=SYSTEM,
        )
    db.session.refresh(budget)
    move = budgets.move_isf(budget, third, actor=SYSTEM)
    assert move.moved_pence == 31_500
    db.session.refresh(budget)
    accounts = {a.provider_id: ledger.balance(a) for a in budgets.budget_accounts(budget)}
    assert accounts == {first.id: 0, second.id: 0, third.id: 31_500}
    assert budgets.summary(budget).available_pence == 31_500
    assert ledger_check.check() == []


def test_an_isf_move_sent_twice_moves_once_and_a_stale_one_is_refused(make_budget, make_provider, policy):
    holder, new, other = make_provider(name="Holder"), make_provider(name="New home"), make_provider(name="Other")
    budget = make_budget(amount=20_000, budget_type=BudgetType.ISF, isf_provider=holder)
    stale = db.session.get(type(budget), budget.id)
    db.session.expunge(stale)  # what a second browser tab saw: the fund with Holder
    first = budgets.move_isf(budget, new, actor=SYSTEM, request_key="move-form-1")
    again = budgets.move_isf(stale, new, actor=SYSTEM, request_key="move-form-1")  # the same form sent again
    assert again.id == first.id
    from app.models.budgets import IsfMove

    assert db.session.query(IsfMove).count() == 1
    with pytest.raises(Conflict, match="was moved to New home while you were choosing"):
        budgets.move_isf(stale, other, actor=SYSTEM, request_key="move-form-2")
    with pytest.raises(Conflict, match="already used"):
        budgets.move_isf(stale, other, actor=SYSTEM, request_key="move-form-1")
    db.session.expire_all()
    budget = db.session.get(type(budget), budget.id)
    assert budget.isf_provider_id == new.id
    assert ledger.balance(budgets.spending_account(budget)) == 20_000
    assert ledger_check.check() == []


def test_the_statement_says_what_an_isf_move_took_with_it(make_budget, make_provider, policy):
    holder, new = make_provider(name="Holder"), make_provider(name="New home")
    budget = make_budget(amount=20_000, budget_type=BudgetType.ISF, isf_provider=holder)
    budgets.move_isf(budget, new, actor=SYSTEM)
    start, end = policy.period_containing(today())[0], funded_period(policy)[1]
    statement = budgets.statement(db.session.get(type(budget), budget.id), start, end)
    moved = [line for line in statement.lines if line.kind is TransactionKind.ISF_TRANSFER]
    assert len(moved) == 1
    line = moved[0]
    assert line.description == "Individual Service Fund moved from Holder to New home"
    # What went with the fund, and the money available unchanged by it.
    assert line.moved_pence == 20_000 and (line.in_pence, line.out_pence) == (0, 0)
    assert line.available_after_pence == 20_000 and statement.moved_pence == 20_000
    assert statement.closing_available_pence == 20_000


# Reversing a payment in ---------------------------------------------------------------------------


def test_a_commissioner_reverses_a_payment_into_a_budget(make_budget, make_user, policy):
    from app.models import AuditEvent

    commissioner = make_user(Role.COMMISSIONER)
    budget = make_budget(amount=30_000, periods=2)
    payments = db.session.query(BudgetPeriod).filter_by(budget_id=budget.id).order_by(BudgetPeriod.starts_on).all()
    later = payments[1].transaction_id
    with pytest.raises(ValidationError):
        budgets.reverse_money_in(budget, later, by=commissioner, reason=" ")
    reversal = budgets.reverse_money_in(budget, later, by=commissioner, reason="The budget ends this period")
    assert reversal.corrects_id == later
    assert budgets.reverse_money_in(budget, later, by=commissioner, reason="Pressed twice").id == reversal.id
    figures = budgets.summary(budget)
    assert figures.funded_pence == figures.available_pence == 30_000 and figures.balances
    event = db.session.query(AuditEvent).filter_by(action="budget.money_in_reversed").one()
    assert event.actor_id == commissioner.id and event.before["amount_pence"] == 30_000 and event.note == "The budget ends this period"
    # On the statement: the payment marked reversed, and the reversal as money going out.
    start, _ = policy.period_containing(today())
    lines = budgets.statement(budget, start, start + dt.timedelta(days=28 * 3)).lines
    assert [line.reversed for line in lines if line.kind is TransactionKind.FUNDING] == [False, True]
    [out] = [line for line in lines if line.kind is TransactionKind.CORRECTION]
    assert out.out_pence == 30_000 and "The budget ends this period" in out.description
    # Someone else's payment, or a hold, is not a payment into this budget.
    other = make_budget()
    other_payment = db.session.query(BudgetPeriod).filter_by(budget_id=other.id).one().transaction_id
    from app.services.errors import NotFound

    with pytest.raises(NotFound):
        budgets.reverse_money_in(budget, other_payment, by=commissioner, reason="Not theirs")
    assert ledger_check.check() == []


def test_a_payment_already_spent_cannot_be_reversed(make_budget, make_service, make_user, policy):
    commissioner = make_user(Role.COMMISSIONER)
    budget = make_budget(amount=3_000)
    bookings.create(
        request_for(make_service(price_pence=2_000), budget, day=future_day(policy)),
        citizen=budget.citizen,
        booker=budget.citizen,
        policy=policy,
    )
    payment = db.session.query(BudgetPeriod).filter_by(budget_id=budget.id).one().transaction_id
    with pytest.raises(Conflict, match="does not have £30 available to give back"):
        budgets.reverse_money_in(budget, payment, by=commissioner, reason="Wrong amount")
    assert budgets.summary(budget).available_pence == 1_000 and ledger_check.check() == []


# UK dates -------------------------------------------------------------------------------------------


def test_today_is_the_uk_date_whatever_the_server_clock_says(monkeypatch):
    """23:30 UTC on 30 June is already 1 July in the UK (summer time)."""
    from app import uk_time

    late_evening = dt.datetime(2026, 6, 30, 23, 30, tzinfo=dt.UTC)
    assert uk_time.uk_today(late_evening) == dt.date(2026, 7, 1)
    monkeypatch.setattr(uk_time, "utcnow", lambda: late_evening)  # where uk_today looks it up
    assert uk_time.uk_today() == dt.date(2026, 7, 1)


def test_a_budget_set_up_late_in_the_evening_counts_the_uk_day(app, make_user, monkeypatch):
    """At 23:30 UTC on 30 June it is already 1 July in the UK: a budget starting on 1 July,
    the first day of a period, is paid in at once (a server on UTC would wait a day). In a
    future year, so the real calendar can never make it pass by itself."""
    from app.services.policy import current_policy

    app.config["BUDGET_PERIOD_ANCHOR"] = "2099-07-01"
    policy = current_policy()
    monkeypatch.setattr("app.uk_time.utcnow", lambda: dt.datetime(2099, 6, 30, 23, 30, tzinfo=dt.UTC))  # the UK day
    budget = budgets.create_budget(
        citizen=make_user(Role.CITIZEN),
        budget_type=BudgetType.MANAGED_ACCOUNT,
        amount_per_period_pence=28_000,
        starts_on=dt.date(2099, 7, 1),
        outcomes=["Stay well"],
        created_by=None,
        policy=policy,
    )
    assert budgets.summary(budget).funded_pence == 28_000
    assert budgets.statement_periods(budget, policy) == [(dt.date(2099, 7, 1), dt.date(2099, 7, 29))]


def test_the_ledger_check_names_a_budget_whose_money_left_without_a_hold(make_budget):
    from app.database import write_transaction
    from app.models import AccountKind

    budget = make_budget(amount=50_000)
    other = make_budget(amount=20_000)
    assert ledger_check.check() == []
    # Money taken straight from the budget to a provider: spent by nobody's hold.
    with write_transaction():
        payable = ledger.account(AccountKind.PROVIDER_PAYABLE, "provider:test", "Test provider")
        ledger.post(
            TransactionKind.CAPTURE,
            [(budgets.spending_account(budget), -300), (payable, 300)],
            key="no-hold",
            cause=("test", None),
            actor=SYSTEM,
        )
    problems = ledger_check.check()
    assert [p.invariant for p in problems] == ["budget adds up"]
    assert problems[0].detail == f"budget {budget.public_id}: available 49700 + held 0 + spent 0 != funded 50000"
    assert budgets.summary(db.session.get(type(other), other.id)).balances
