"""The personal budgets report: allocated, spent, set aside and unspent by type of budget,
direct payment uptake and budgets over the unspent threshold, on a small market made
through the real budget, booking and card services and worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import BookingVisit, BudgetType, CouncilSettings, FundingRoute, Role, WayOfPaying
from app.services import bookings
from app.services.reports import personal_budgets
from app.services.reports.filters import ReportFilter
from app.services.reports.personal_budgets_queries import Budget, BudgetData, direct_payment_people
from app.services.reports.personal_budgets_tables import uptake_table
from app.services.reports.tables import SUPPRESSED
from tests.payments_fixtures import book_by_card
from tests.services.money_helpers import future_day, request_for
from tests.services.reports.market_helpers import deliver_booking, wide_filter


@pytest.fixture
def market(make_service, make_budget, make_provider, make_user, policy, save_card):
    """Managed M1 (£400 a period): 2 hours delivered at £20, 1 hour booked and accepted (£20
    set aside). Managed M2 (£100 a period, two periods funded): untouched. ISF I1 (£200, with
    provider A): 1 hour delivered. D pays by council prepaid card: 1 hour delivered."""
    a = make_provider(name="Alpha Care")
    service = make_service(provider=a, price_pence=2_000, capacity=5, accepts_prepaid_card=True, accepts_self_funder=True)
    staff = make_user(Role.PROVIDER)
    m1 = make_budget(amount=40_000)
    m2 = make_budget(amount=10_000, periods=2)
    i1 = make_budget(amount=20_000, budget_type=BudgetType.ISF, isf_provider=a)
    deliver_booking(service, m1, staff=staff, policy=policy, units=2)
    deliver_booking(service, i1, staff=staff, policy=policy, at="11:00")
    held = bookings.create(
        request_for(service, m1, day=future_day(policy, 3), at="14:00"), citizen=m1.citizen, booker=m1.citizen, policy=policy
    )
    bookings.accept(bookings.get_booking(held.public_id), by=staff)
    direct = make_user(Role.CITIZEN)
    card = save_card(direct, route=FundingRoute.PREPAID_CARD)
    paid = book_by_card(service, card, citizen=direct, days=2, at="16:00")
    bookings.accept(bookings.get_booking(paid.public_id), by=staff)
    visit = db.session.get(BookingVisit, paid.visits[0].id)
    bookings.record_delivery(visit, by=staff, now=visit.starts_at + dt.timedelta(hours=1))
    return {"m1": m1, "m2": m2, "i1": i1}


def test_budgets_by_type_add_up_to_what_was_allocated_spent_and_kept(market):
    table = personal_budgets.build(wide_filter()).table("by-type")
    # Managed: M1 and M2 holders; allocated £400 + 2 × £100; spent £40; £20 set aside; unspent
    # £400 - £40 - £20 + £200 = £540; spent of allocated 40/600. ISF: £200, spent £20 (10%).
    # Direct payment: one person, £20 paid by card, nothing else known.
    assert table.rows == [
        ("Council-managed account", 2, 60_000, 4_000, 2_000, 54_000, pytest.approx(4_000 / 60_000)),
        ("Individual Service Fund", 1, 20_000, 2_000, 0, 18_000, 0.1),
        ("Direct payment (prepaid card)", 1, None, 2_000, None, None, None),
    ]
    # Four people; the total's share spent is of budgets only: 6,000 / 80,000.
    assert table.total == ("Total", 4, 80_000, 8_000, 2_000, 72_000, 0.075)


def test_by_month_totals_match_and_the_headline_figures(market):
    report = personal_budgets.build(wide_filter())
    assert report.table("by-month").total == ("Total", 80_000, 6_000, 2_000)
    assert report.table("by-month").chart.kind == "line"
    figures = {f.label: f.value for f in report.figures}
    assert figures["Allocated to budgets"] == 80_000
    assert figures["Spent from budgets"] == 6_000
    assert figures["Share of allocation spent"] == 0.075
    assert figures["People with a personal budget"] == SUPPRESSED  # three people
    # One person with a direct payment of four with council support: suppressed with its count.
    assert figures["Direct payment uptake"] == SUPPRESSED
    assert report.table("direct-payment-uptake").total[1:3] == (1, 4)


def test_only_budgets_over_the_councils_threshold_are_counted(market):
    # Default 8 weeks: M2 holds £200 = exactly 8 weeks' worth of £100 a 4 weeks, not more.
    assert personal_budgets.build(wide_filter()).table("unspent").rows == []
    db.session.add(CouncilSettings(id=1, name="Test council", unspent_weeks_threshold=4))
    db.session.commit()
    table = personal_budgets.build(wide_filter()).table("unspent")
    # 4 weeks: M2's £200 is £100 over its £100; M1's £340 is under its £400, I1's £180 under £200.
    assert table.rows == [("Council-managed account", 1, 20_000, 10_000)]
    assert table.total == ("Total", 1, 20_000, 10_000)


def test_filters(market, category):
    isf = personal_budgets.build(wide_filter(way=WayOfPaying.ISF))
    assert [row[0] for row in isf.table("by-type").rows] == ["Individual Service Fund"]
    assert isf.table("by-month").total == ("Total", 20_000, 2_000, None)

    own = personal_budgets.build(wide_filter(way=WayOfPaying.SELF_FUNDED))
    assert own.table("by-type").rows == [] and "no personal budget" in own.table("by-type").note

    meals = personal_budgets.build(wide_filter(category=category("meals")))
    # Nothing was spent on meals: allocations and balances stay, spending and the card go.
    assert meals.table("by-type").rows == [
        ("Council-managed account", 2, 60_000, 0, 0, 54_000, 0.0),
        ("Individual Service Fund", 1, 20_000, 0, 0, 18_000, 0.0),
    ]

    placed = personal_budgets.build(wide_filter(district="PE1"))
    assert placed.table("by-type").total == personal_budgets.build(wide_filter()).table("by-type").total
    assert "does not know where budget holders live" in placed.table("by-type").note


def test_direct_payment_uptake_by_month_counts_each_person_once():
    """Worked by hand: in January five people paid by prepaid card, one of them also holds a
    budget, and three others hold budgets: 5 of 8 = 62.5%. In February one person paid by
    card (suppressed with its count) and the four holders still run."""
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    budgets = [
        Budget(i, citizen, BudgetType.MANAGED_ACCOUNT, 10_000, dt.date(2025, 12, 1), None, True) for i, citizen in enumerate([5, 6, 7, 8])
    ]
    budgets.append(Budget(9, 9, BudgetType.ISF, 10_000, dt.date(2026, 3, 1), None, True))  # starts after the period
    direct = {(jan, c) for c in (1, 2, 3, 4, 5)} | {(feb, 1)}
    data = BudgetData(budgets, {}, {}, direct, direct, {}, {})
    table = uptake_table(ReportFilter(jan, feb), data)
    assert table.rows == [(jan, 5, 8, 0.625), (feb, 1, 5, SUPPRESSED)]
    assert table.total == ("Whole period", 5, 8, 0.625)


def test_an_empty_database_gives_empty_tables(app):
    report = personal_budgets.build(wide_filter())
    assert [t.slug for t in report.tables] == ["by-type", "by-month", "direct-payment-uptake", "unspent"]
    assert all(t.rows == [] and t.total is None for t in report.tables)
    assert {f.label: f.value for f in report.figures}["Share of allocation spent"] is None


def test_direct_payment_people_are_read_once_for_the_type_of_support_and_for_uptake(market, category):
    everything_paid, everyone = direct_payment_people(wide_filter())
    assert len(everyone) == 1 and everything_paid is everyone  # no type of support: the same set, read once
    meals, everyone_meals = direct_payment_people(wide_filter(category=category("meals")))
    # The card paid for home care, not meals: uptake still counts the person.
    assert meals == set() and everyone_meals == everyone
    own, everyone_own = direct_payment_people(wide_filter(category=category("home-care")))  # the service's own
    assert own == everyone_own == everyone
