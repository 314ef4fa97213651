"""Money under real concurrency: threads with their own connections, all released at
once. These are the tests that prove no budget goes below zero, no slot is double
booked and no request is paid twice, on PostgreSQL (row locks, READ COMMITTED) and on
SQLite (BEGIN IMMEDIATE)."""

from __future__ import annotations

import threading

from app.extensions import db
from app.models import Booking, LedgerAccount, LedgerHold, PersonalBudget, User
from app.services import bookings, budgets, ledger
from app.services.errors import ValidationError
from tests.services.money_helpers import future_day, request_for


def run_at_once(app, count, work):
    """Run ``work(i)`` in ``count`` threads released together; return (successes, errors)."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    db.session.commit()  # end the test's own transaction: its snapshot must not hide their work

    def worker(i):
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results[i] = ("ok", work(i))
            except Exception as exc:  # collected and asserted on below
                results[i] = ("error", exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    db.session.rollback()
    ok = [value for kind, value in results if kind == "ok"]
    errors = [value for kind, value in results if kind == "error"]
    return ok, errors


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


def test_fifty_simultaneous_bookings_against_a_budget_for_ten(app, make_budget, make_service, policy):
    budget = make_budget(amount=10 * 2_000)
    service = make_service(price_pence=2_000, capacity=100)
    day = future_day(policy)
    budget_id, citizen_id, service_id = budget.id, budget.citizen_id, service.id
    account_id = budgets.spending_account(budget).id

    def book(i):
        citizen = db.session.get(User, citizen_id)
        b = db.session.get(PersonalBudget, budget_id)
        s = bookings.listed_service(service_id)
        return bookings.create(request_for(s, b, day=day, key=f"fifty-{i}"), citizen=citizen, booker=citizen, policy=policy).id

    with BalanceWatcher(app, account_id) as watcher:
        ok, errors = run_at_once(app, 50, book)
    assert len(ok) == 10, errors[:3]
    assert len(errors) == 40 and all(isinstance(e, ValidationError) and "payment" in e.errors for e in errors)
    assert watcher.seen and min(watcher.seen) >= 0
    db.session.expire_all()
    figures = budgets.summary(db.session.get(PersonalBudget, budget_id))
    assert (figures.available_pence, figures.held_pence) == (0, 20_000)
    assert db.session.query(Booking).count() == 10
    assert ledger.check() == []


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
            citizen=citizen, booker=citizen, policy=policy,
        ).id

    ok, errors = run_at_once(app, 2, book)
    assert len(ok) == 1
    assert len(errors) == 1 and "fully booked" in str(errors[0])
    assert db.session.query(Booking).count() == 1
    assert db.session.query(LedgerHold).count() == 1
    assert ledger.check() == []


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
    assert ledger.check() == []


def test_concurrent_deliveries_of_one_visit_pay_once(app, make_budget, make_service, make_user, policy):
    from app.models import Role

    budget = make_budget()
    service = make_service(price_pence=2_000, capacity=5)
    staff = make_user(Role.PROVIDER)
    booking = bookings.create(request_for(service, budget, day=future_day(policy)), citizen=budget.citizen,
                              booker=budget.citizen, policy=policy)
    bookings.accept(booking, by=staff)
    visit_id, staff_id, when = booking.visits[0].id, staff.id, booking.visits[0].starts_at
    import datetime as dt

    from app.models import BookingVisit

    def deliver(i):
        return bookings.record_delivery(db.session.get(BookingVisit, visit_id), by=db.session.get(User, staff_id),
                                        now=when + dt.timedelta(hours=1)).id

    ok, errors = run_at_once(app, 8, deliver)
    assert len(ok) == 1 and len(errors) == 7
    db.session.expire_all()
    assert budgets.summary(db.session.get(PersonalBudget, budget.id)).spent_pence == 2_000
    assert ledger.balance(ledger.provider_payable_account(service.provider)) == 2_000
    assert ledger.check() == []
