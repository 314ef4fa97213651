"""Money under real concurrency: threads with their own connections, all released at
once. These are the tests that prove no budget goes below zero, no slot is double
booked and no request is paid twice, on PostgreSQL (row locks, READ COMMITTED) and on
SQLite (BEGIN IMMEDIATE)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from app.extensions import db
from app.models import Booking, LedgerAccount, LedgerHold, PersonalBudget, User
from app.services import bookings, budgets, ledger, ledger_check
from app.services.bookings import cancelling
from app.services.bookings import notify as booking_notices
from app.services.budgets import funding
from app.services.errors import Conflict, DomainError, InvalidTransition, ValidationError
from tests.helpers import run_at_once
from tests.services.money_helpers import bare_visits, future_day, request_for


class BalanceWatcher:
    """Reads a budget account's balance over and over while the threads run."""

    def __init__(self, app, account_id):
        self.app, self.account_id, self.seen, self._stop = app, account_id, [], threading.Event()
        self.thread = threading.Thread(target=self._watch)

    def _watch(self):
        with self.app.app_context():
            while not self._stop.is_set():
                self.seen.append(ledger.balance(db.session.get(LedgerAccount, self.account_id)))
                db.session.rollback()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def test_fifty_simultaneous_bookings_against_a_budget_for_ten(app, make_budget, make_service, make_provider, policy):
    """Only the ledger's conditional debit stands between 50 bookings and a budget for 10:
    every booking has its own service and time, so no capacity cell is shared (those
    row locks would queue the bookings one by one and hide a ledger that overspends)."""
    budget = make_budget(amount=10 * 2_000)
    provider = make_provider()
    services = [make_service(provider=provider, price_pence=2_000, capacity=1) for _ in range(5)]
    day = future_day(policy)
    # 5 services x 10 one-hour slots, 08:00 to 18:00: 50 bookings that overlap nowhere.
    slots = [(services[i % 5].id, f"{8 + i // 5:02d}:00") for i in range(50)]
    budget_id, citizen_id = budget.id, budget.citizen_id
    account_id = budgets.spending_account(budget).id

    def book(i):
        citizen = db.session.get(User, citizen_id)
        b = db.session.get(PersonalBudget, budget_id)
        service_id, at = slots[i]
        s = bookings.listed_service(service_id)
        return bookings.create(request_for(s, b, day=day, at=at, key=f"fifty-{i}"), citizen=citizen, booker=citizen, policy=policy).id

    with BalanceWatcher(app, account_id) as watcher:
        ok, errors = run_at_once(app, 50, book)
    assert len(ok) == 10, errors[:3]
    assert len(errors) == 40 and all(isinstance(e, ValidationError) and "payment" in e.errors for e in errors), errors[:3]
    assert watcher.seen and min(watcher.seen) >= 0
    db.session.expire_all()
    figures = budgets.summary(db.session.get(PersonalBudget, budget_id))
    assert (figures.available_pence, figures.held_pence) == (0, 20_000)
    assert db.session.query(Booking).count() == 10
    assert ledger_check.check() == []


def test_hundreds_of_one_pound_holds_at_once_against_fifty_pounds(app):
    """The ledger alone, from real threads: 240 holds of £1 against a budget of £50, all
    released together. Exactly 50 succeed, the balance is never seen below zero, and every
    invariant holds afterwards."""
    from app.database import write_transaction
    from app.models import AccountKind, TransactionKind

    with write_transaction():
        council = ledger.council_funding_account()
        budget = ledger.account(AccountKind.BUDGET, "budget:many", "Budget of £50")
        holding = ledger.account(AccountKind.BOOKING_HOLD, "booking:many", "Holds")
        ledger.post(
            TransactionKind.FUNDING,
            [(council, -5_000), (budget, 5_000)],
            key="fund-many",
            cause=("test", None),
            actor=ledger.Actor.system("test"),
        )
    budget_id, hold_id = budget.id, holding.id
    visit_ids = bare_visits(240)
    threads, per_thread = 40, 6

    def spend(i):
        won = 0
        for n in range(per_thread):
            visit_id = visit_ids[i * per_thread + n]
            try:
                with write_transaction():
                    ledger.place_hold(
                        visit_id=visit_id,
                        source=db.session.get(LedgerAccount, budget_id),
                        hold=db.session.get(LedgerAccount, hold_id),
                        amount_pence=100,
                        key=f"pound-{visit_id}",
                        actor=ledger.Actor.system("test"),
                    )
                won += 1
            except ledger.InsufficientFunds:
                pass
        return won

    with BalanceWatcher(app, budget_id) as watcher:
        ok, errors = run_at_once(app, threads, spend)
    assert errors == []
    assert sum(ok) == 50
    assert watcher.seen and min(watcher.seen) >= 0
    db.session.expire_all()
    assert ledger.balance(db.session.get(LedgerAccount, budget_id)) == 0
    assert db.session.query(LedgerHold).count() == 50
    assert ledger_check.check() == []


def test_two_people_taking_the_last_place_at_once(app, make_budget, make_service, policy):
    service = make_service(capacity=1, price_pence=1_800)
    first, second = make_budget(), make_budget()
    day = future_day(policy)
    pairs = [(first.id, first.citizen_id), (second.id, second.citizen_id)]
    service_id = service.id

    def book(i):
        budget_id, citizen_id = pairs[i]
        citizen = db.session.get(User, citizen_id)
        return bookings.create(
            request_for(bookings.listed_service(service_id), db.session.get(PersonalBudget, budget_id), day=day, at="14:00"),
            citizen=citizen,
            booker=citizen,
            policy=policy,
        ).id

    ok, errors = run_at_once(app, 2, book)
    assert len(ok) == 1
    assert len(errors) == 1 and "fully booked" in str(errors[0])
    assert db.session.query(Booking).count() == 1
    assert db.session.query(LedgerHold).count() == 1
    assert ledger_check.check() == []


def test_the_same_request_retried_at_once_books_and_holds_once(app, make_budget, make_service, policy):
    budget = make_budget(amount=20_000)
    service = make_service(price_pence=2_500, capacity=20)
    day = future_day(policy)
    budget_id, citizen_id, service_id = budget.id, budget.citizen_id, service.id

    def book(i):
        citizen = db.session.get(User, citizen_id)
        request = request_for(bookings.listed_service(service_id), db.session.get(PersonalBudget, budget_id), day=day, key="same-click")
        return bookings.create(request, citizen=citizen, booker=citizen, policy=policy).id

    ok, errors = run_at_once(app, 12, book)
    assert errors == []
    assert len(set(ok)) == 1
    assert db.session.query(Booking).count() == 1
    assert db.session.query(LedgerHold).count() == 1
    db.session.expire_all()
    assert budgets.summary(db.session.get(PersonalBudget, budget_id)).held_pence == 2_500
    assert ledger_check.check() == []


def test_concurrent_deliveries_of_one_visit_pay_once(app, make_budget, make_service, make_user, policy):
    from app.models import Role

    budget = make_budget()
    service = make_service(price_pence=2_000, capacity=5)
    staff = make_user(Role.PROVIDER)
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy)), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    bookings.accept(booking, by=staff)
    visit_id, staff_id, when = booking.visits[0].id, staff.id, booking.visits[0].starts_at
    import datetime as dt

    from app.models import BookingVisit

    def deliver(i):
        return bookings.record_delivery(
            db.session.get(BookingVisit, visit_id), by=db.session.get(User, staff_id), now=when + dt.timedelta(hours=1)
        ).id

    ok, errors = run_at_once(app, 8, deliver)
    assert len(ok) == 1 and len(errors) == 7
    db.session.expire_all()
    assert budgets.summary(db.session.get(PersonalBudget, budget.id)).spent_pence == 2_000
    assert ledger.balance(ledger.provider_payable_account(service.provider)) == 2_000
    assert ledger_check.check() == []


# Two people changing the same booking at once ------------------------------------------------
#
# Each race slows one side down at the point where it has decided what to do, so the other
# side runs in between every time (not only when the scheduler happens to interleave them).
# Whatever the order, exactly one wins, the other gets a clear domain error and changes
# nothing, and the visit agrees with its hold (`ledger_check.check()`).

_slow = threading.local()


def slow_down(monkeypatch, owner, name, seconds=0.6):
    """Make ``owner.name`` pause for ``seconds`` after it runs, in threads that ask for it."""
    original = getattr(owner, name)

    def paused(*args, **kwargs):
        result = original(*args, **kwargs)
        if getattr(_slow, "on", False):
            time.sleep(seconds)
        return result

    monkeypatch.setattr(owner, name, paused)


def first_and_second(first, second, lag=0.15):
    """work(i) for run_at_once: thread 0 runs ``first`` (slowed), thread 1 runs ``second``
    a moment later, so ``first`` has already decided when ``second`` starts."""

    def work(i):
        if i == 0:
            _slow.on = True
            try:
                return ("first", first())
            finally:
                _slow.on = False
        time.sleep(lag)
        return ("second", second())

    return work


@pytest.fixture
def accepted_visit(make_budget, make_service, make_user, policy):
    """An accepted weekly booking of two visits; the first is the one raced over (the
    booking stays open whatever happens to it)."""
    from app.models import BookingSchedule, Role

    budget = make_budget(amount=20_000)
    service = make_service(price_pence=2_000, capacity=3)
    staff = make_user(Role.PROVIDER)
    day = future_day(policy, 3)
    booking = bookings.create(
        request_for(service, budget, day=day, schedule=BookingSchedule.WEEKLY, weekdays=(day.weekday(),), weeks=2),
        citizen=budget.citizen,
        booker=budget.citizen,
        policy=policy,
    )
    bookings.accept(booking, by=staff)
    visit = booking.visits[0]
    return budget, booking, visit, staff


def _visit_ends(visit_id):
    from app.models import BookingVisit, HoldStatus

    db.session.expire_all()
    visit = db.session.get(BookingVisit, visit_id)
    holds = db.session.query(LedgerHold).filter_by(visit_id=visit_id).all()
    return visit.status, [h.status for h in holds], HoldStatus


@pytest.mark.parametrize("slow_side", ["cancel", "deliver"])
def test_delivering_and_cancelling_a_visit_at_once(app, monkeypatch, accepted_visit, policy, slow_side):
    from app.models import BookingVisit, VisitStatus

    budget, booking, visit, staff = accepted_visit
    booking_id, visit_id, starts, citizen_id, staff_id = booking.id, visit.id, visit.starts_at, budget.citizen_id, staff.id

    def cancel():
        return bookings.cancel(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, citizen_id),
            policy=policy,
            visit_ids=[visit_id],
            now=starts - dt.timedelta(days=2),
        )  # in good time: free

    def deliver():
        return bookings.record_delivery(
            db.session.get(BookingVisit, visit_id), by=db.session.get(User, staff_id), now=starts + dt.timedelta(hours=1)
        )

    if slow_side == "cancel":
        slow_down(monkeypatch, cancelling, "cancellation_plan")  # decided what to cancel, then waits
        work = first_and_second(cancel, deliver)
    else:
        slow_down(monkeypatch, budgets.BudgetPayment, "can_deliver")  # decided to deliver, then waits
        work = first_and_second(deliver, cancel)
    ok, errors = run_at_once(app, 2, work)
    assert len(ok) == 1 and len(errors) == 1, (ok, errors)
    assert isinstance(errors[0], DomainError), repr(errors[0])  # never an AttributeError (a 500)
    status, holds, HoldStatus = _visit_ends(visit_id)
    winner = ok[0][0]
    if (winner == "first") == (slow_side == "cancel"):
        assert status is VisitStatus.CANCELLED and holds == [HoldStatus.RELEASED]
        assert budgets.summary(db.session.get(PersonalBudget, budget.id)).spent_pence == 0
    else:
        assert status is VisitStatus.DELIVERED and holds == [HoldStatus.CAPTURED]
        assert budgets.summary(db.session.get(PersonalBudget, budget.id)).spent_pence == 2_000
    assert ledger_check.check() == []


@pytest.mark.parametrize("slow_side", ["cancel", "accept"])
def test_accepting_and_cancelling_inside_the_notice_at_once(app, monkeypatch, make_budget, make_service, make_user, policy, slow_side):
    """A visit inside the notice window of a booking the provider accepts meanwhile is
    never released for free: either the cancel came first (free, and the accept is refused),
    or the accept did, and cancelling as the person saw it (free) is refused with the charge."""
    from app.models import BookingStatus, Role, VisitStatus

    budget = make_budget(amount=20_000)
    service = make_service(price_pence=2_000, capacity=3)
    staff = make_user(Role.PROVIDER)
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy, 3)), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    booking_id, visit_id, starts, citizen_id, staff_id = (
        booking.id,
        booking.visits[0].id,
        booking.visits[0].starts_at,
        budget.citizen_id,
        staff.id,
    )

    def cancel():
        # Two hours before: inside the 24-hour notice. The person saw no charge (requested).
        return bookings.cancel(
            db.session.get(Booking, booking_id),
            by=db.session.get(User, citizen_id),
            policy=policy,
            now=starts - dt.timedelta(hours=2),
            charges_seen=[],
        )

    def accept():
        return bookings.accept(db.session.get(Booking, booking_id), by=db.session.get(User, staff_id))

    if slow_side == "cancel":
        slow_down(monkeypatch, cancelling, "cancellation_plan")
        work = first_and_second(cancel, accept)
    else:
        slow_down(monkeypatch, booking_notices, "booking_changed")  # accepted, not yet committed
        work = first_and_second(accept, cancel)
    ok, errors = run_at_once(app, 2, work)
    assert len(ok) == 1 and len(errors) == 1, (ok, errors)
    db.session.expire_all()
    final = db.session.get(Booking, booking_id)
    status, holds, HoldStatus = _visit_ends(visit_id)
    if slow_side == "cancel":
        assert isinstance(errors[0], InvalidTransition)  # accept: the booking is cancelled
        assert final.status is BookingStatus.CANCELLED and status is VisitStatus.CANCELLED
    else:
        assert isinstance(errors[0], bookings.ChargeChanged) and "charged £20" in str(errors[0])
        assert final.status is BookingStatus.ACCEPTED and status is VisitStatus.HELD and holds == [HoldStatus.HELD]
    assert ledger_check.check() == []


def test_declining_while_the_provider_accepts_and_delivers(app, monkeypatch, make_budget, make_service, make_user, policy):
    from app.models import BookingStatus, BookingVisit, Role, VisitStatus

    budget = make_budget(amount=20_000)
    service = make_service(price_pence=2_000, capacity=3)
    staff = make_user(Role.PROVIDER)
    booking = bookings.create(
        request_for(service, budget, day=future_day(policy, 3)), citizen=budget.citizen, booker=budget.citizen, policy=policy
    )
    booking_id, visit_id, starts, staff_id = booking.id, booking.visits[0].id, booking.visits[0].starts_at, staff.id

    def decline():
        return bookings.decline(db.session.get(Booking, booking_id), by=db.session.get(User, staff_id), reason="No carers")

    def accept_and_deliver():
        by = db.session.get(User, staff_id)
        bookings.accept(db.session.get(Booking, booking_id), by=by)
        return bookings.record_delivery(db.session.get(BookingVisit, visit_id), by=by, now=starts + dt.timedelta(hours=1))

    slow_down(monkeypatch, booking_notices, "booking_changed")  # declined, not yet committed
    ok, errors = run_at_once(app, 2, first_and_second(decline, accept_and_deliver))
    assert len(ok) == 1 and len(errors) == 1 and isinstance(errors[0], InvalidTransition), (ok, errors)
    db.session.expire_all()
    assert db.session.get(Booking, booking_id).status is BookingStatus.DECLINED
    status, holds, HoldStatus = _visit_ends(visit_id)
    assert status is VisitStatus.DECLINED and holds == [HoldStatus.RELEASED]
    assert ledger_check.check() == []


# Budgets under concurrency -----------------------------------------------------------------------


def test_two_moves_of_one_isf_at_once_strand_nothing(app, monkeypatch, make_budget, make_provider, policy):
    from app.models import BudgetType, Provider

    holder, left, right = make_provider(name="Holder"), make_provider(name="Left"), make_provider(name="Right")
    budget = make_budget(amount=40_000, budget_type=BudgetType.ISF, isf_provider=holder)
    budget_id, targets = budget.id, {0: left.id, 1: right.id}
    seen = {}

    def move_to(i):
        def move():
            return budgets.move_isf(seen[i], db.session.get(Provider, targets[i]), actor=ledger.Actor.system("test")).id

        return move

    for i in (0, 1):  # each person loaded the page while the fund was with Holder
        seen[i] = db.session.get(PersonalBudget, budget_id)
        db.session.expunge(seen[i])
    slow_down(monkeypatch, ledger, "budget_account")  # the first mover has read the fund, then waits
    ok, errors = run_at_once(app, 2, first_and_second(move_to(0), move_to(1)))
    assert len(ok) == 1 and len(errors) == 1 and isinstance(errors[0], Conflict), (ok, errors)
    assert "was moved to" in str(errors[0])
    db.session.expire_all()
    budget = db.session.get(PersonalBudget, budget_id)
    assert budget.isf_provider_id == left.id  # the first one won
    assert ledger.balance(budgets.spending_account(budget)) == 40_000
    assert budgets.summary(budget).available_pence == 40_000
    assert ledger_check.check() == []


def test_two_funding_runs_at_once_fund_each_budget_once(app, monkeypatch, make_budget, policy):
    from app.models import BudgetPeriod, LedgerTransaction, TransactionKind
    from tests.services.money_helpers import funded_period

    made = [make_budget(amount=10_000) for _ in range(3)]
    _, next_start = funded_period(policy)

    def run():
        return len(budgets.fund_all(next_start, policy=policy, actor=ledger.Actor.system("test")).funded)

    slow_down(monkeypatch, funding, "period_amount", seconds=0.3)  # checked the period is not funded yet, then waits
    ok, errors = run_at_once(app, 2, first_and_second(run, run, lag=0.1))
    assert errors == []
    assert sorted(count for _, count in ok) == [0, 3] or sum(count for _, count in ok) == 3
    db.session.expire_all()
    assert db.session.query(BudgetPeriod).filter_by(starts_on=next_start).count() == 3
    assert db.session.query(LedgerTransaction).filter_by(kind=TransactionKind.FUNDING).count() == 6
    for budget in made:
        assert budgets.summary(db.session.get(PersonalBudget, budget.id)).funded_pence == 20_000
    assert ledger_check.check() == []
