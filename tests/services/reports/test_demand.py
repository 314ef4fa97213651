"""The demand report: searches by month and area, words that found nothing, searches
followed by a booking, and requests declined, turned away or cancelled, checked against a
small fixed market worked by hand."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.extensions import db
from app.models import (
    BookingEvent,
    BookingStatus,
    BookingVisit,
    FundingRoute,
    Role,
    SearchChannel,
    SearchLog,
    TurnedAwayRequest,
    VisitStatus,
    WayOfPaying,
)
from app.services.reports import demand, demand_follow
from app.services.reports.filters import ReportFilter
from app.services.reports.tables import SUPPRESSED
from tests.services.reports.market_helpers import add_booking

UTC = dt.UTC
PERIOD = ReportFilter(dt.date(2026, 1, 1), dt.date(2026, 3, 1))
_n = itertools.count(1)


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def add_search(when, *, category=None, district=None, found=0, words="", funding=None):
    db.session.add(
        SearchLog(
            searched_at=when,
            words=words,
            category_slug=category,
            postcode_district=district,
            funding=funding,
            result_count=found,
            channel=SearchChannel.WEB,
        )
    )
    db.session.commit()


def add_visit(booking, *, status=VisitStatus.SCHEDULED, settled_at=None, settled_by=None):
    start = booking.created_at + dt.timedelta(days=3)
    visit = BookingVisit(
        booking_id=booking.id,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=1),
        units=1,
        amount_pence=2_400,
        status=status,
        settled_at=settled_at,
        settled_by_id=settled_by.id if settled_by is not None else None,
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def add_event(booking, kind, when, actor=None):
    db.session.add(BookingEvent(booking_id=booking.id, kind=kind, message=kind, at=when, actor_user_id=actor.id if actor else None))
    db.session.commit()


def _searches():
    """Ten searches in January to March 2026 (UK time), and two just outside."""
    hc, meals = "home-care", "meals"
    add_search(at(2026, 1, 5, 10), category=hc, district="PE1", found=0, words="Night Sitter")  # s1
    add_search(at(2026, 1, 10, 10), category=hc, district="PE1", found=2)  # s2
    add_search(at(2026, 1, 15, 10), category=hc, district="PE2", found=10)  # s3
    add_search(at(2026, 2, 2, 10), category=hc, district="PE1", found=0, words="night  sitter ")  # s4
    add_search(at(2026, 2, 5, 10), category=meals, found=0, words=" night\tsitter")  # s5
    add_search(at(2026, 2, 20, 10), category=meals, district="PE2", found=5, funding=FundingRoute.PREPAID_CARD)  # s6
    add_search(at(2026, 2, 28, 23, 30), category=hc, found=1)  # s7: still February in the UK (GMT)
    add_search(at(2026, 3, 10, 10), category=hc, district="PE1", found=0, words="NIGHT SITTER")  # s8
    add_search(at(2026, 3, 20, 10), category=hc, district="PE1", found=0, words="night sitter", funding=FundingRoute.PERSONAL_BUDGET)
    add_search(at(2026, 3, 25, 10), category=hc, district="PE3", found=0, words="rare words")  # s10
    add_search(at(2026, 3, 31, 23, 30), category=hc, district="PE1", words="night sitter")  # 1 April in the UK (BST): outside
    add_search(at(2025, 12, 31, 23, 59), category=hc, district="PE1", words="night sitter")  # outside


@pytest.fixture
def market(app, make_service, make_user, make_provider_staff):
    _searches()
    home = make_service(category="home-care")
    meals = make_service(category="meals")
    citizen = make_user(Role.CITIZEN)
    staff = make_provider_staff(home.provider)
    # Bookings that follow searches: b1 follows s1 (3 days later), b2 follows s2 one minute
    # inside 7 days; b3 (meals, PE1) and b4 (PE2, 17 days after s3) follow none.
    add_booking(home, citizen, created_at=at(2026, 1, 8, 9))
    add_booking(home, citizen, created_at=at(2026, 1, 17, 9, 59))
    add_booking(meals, citizen, created_at=at(2026, 2, 21, 10))
    add_booking(home, citizen, created_at=at(2026, 2, 1, 10), district="PE2")
    # At exactly 7 days after s3 (not within them), and at the very moment of s10 (within).
    add_booking(home, citizen, created_at=at(2026, 1, 22, 10), district="PE2")
    add_booking(home, citizen, created_at=at(2026, 3, 25, 10), district="PE3")
    # Declined (in PE9, so they follow no search): five home care for lack of staff, however
    # written, one meals with a reason naming someone, and one home care after the period.
    for day, reason in enumerate(
        ["No staff available", "  no staff AVAILABLE", "no staff available", "No staff available", "no staff available"]
    ):
        add_booking(
            home,
            citizen,
            created_at=at(2026, 1, 18),
            district="PE9",
            status=BookingStatus.DECLINED,
            decided_at=at(2026, 1, 20 + day),
            reason=reason,
        )
    declined = {"status": BookingStatus.DECLINED, "district": "PE9", "created_at": at(2026, 1, 18)}
    add_booking(meals, citizen, decided_at=at(2026, 2, 3), reason="Mrs Smith lives too far", **declined)
    add_booking(home, citizen, decided_at=at(2026, 4, 2), reason="No staff available", **declined)
    # Fully booked: two home care in PE1, one meals in PE2; one after the period.
    for when, service, district in [(at(2026, 2, 3), home, "PE1"), (at(2026, 2, 4), home, "PE1"), (at(2026, 3, 1), meals, "PE2")]:
        db.session.add(TurnedAwayRequest(at=when, service_id=service.id, category_id=service.category_id, district=district))
    db.session.add(TurnedAwayRequest(at=at(2026, 4, 3), service_id=home.id, category_id=home.category_id, district="PE1"))
    db.session.commit()
    # Cancelled: c1 wholly, both visits by the person; c2 one visit by the provider; c3
    # withdrawn after a failed card payment (nobody cancelled it: not counted).
    c1 = add_booking(home, citizen, created_at=at(2026, 2, 1), district="PE9", status=BookingStatus.CANCELLED)
    for _ in range(2):
        add_visit(c1, status=VisitStatus.CANCELLED, settled_at=at(2026, 2, 10), settled_by=citizen)
    add_event(c1, "cancelled", at(2026, 2, 10), citizen)
    c2 = add_booking(home, citizen, created_at=at(2026, 2, 1), district="PE9", status=BookingStatus.ACCEPTED, decided_at=at(2026, 2, 2))
    add_visit(c2, status=VisitStatus.CANCELLED, settled_at=at(2026, 3, 5), settled_by=staff)
    add_event(c2, "cancelled", at(2026, 3, 5), staff)
    c3 = add_booking(meals, citizen, created_at=at(2026, 2, 11), district="PE9", status=BookingStatus.CANCELLED)
    add_visit(c3, status=VisitStatus.CANCELLED, settled_at=at(2026, 2, 11))
    add_event(c3, "payment_failed", at(2026, 2, 11))
    return home, meals


def test_searches_are_counted_by_uk_month_with_those_that_found_little(market):
    table = demand.build(PERIOD).table("searches-by-month")
    # January: s1-s3, s1 found nothing, s1 and s2 fewer than 3. February: s4-s7 (s7 at 23:30
    # on the 28th is February in GMT), s4 and s5 nothing, s4, s5, s7 few. March: s8-s10, all
    # nothing; the search at 23:30 UTC on 31 March is 1 April in the UK, outside.
    assert table.rows == [
        (dt.date(2026, 1, 1), 3, 1, 2),
        (dt.date(2026, 2, 1), 4, 2, 3),
        (dt.date(2026, 3, 1), 3, 3, 3),
    ]
    assert table.total == ("Total", 10, 6, 8)
    assert table.chart.kind == "line"


def test_searches_by_area_show_the_share_that_found_fewer_than_three(market):
    table = demand.build(PERIOD).table("searches-by-area")
    # PE1: s1, s2, s4, s8, s9, all under 3 results; PE2: s3, s6, none; PE3: s10; no postcode:
    # s5 (nothing) and s7 (one result), shown last.
    assert table.rows == [
        ("PE1", 5, 4, 5, 1.0),
        ("PE2", 2, 0, 0, 0.0),
        ("PE3", 1, 1, 1, 1.0),
        ("No postcode given", 2, 1, 2, 1.0),
    ]
    assert table.total == ("Total", 10, 6, 8, 0.8)


def test_only_words_five_searches_used_are_shown(market):
    table = demand.build(PERIOD).table("words-found-nothing")
    # "night sitter" in any case and spacing: s1, s4, s5, s8, s9 (the two outside the period
    # do not count); "rare words" was one search, so it is never shown.
    # No search index here: what a search for the words finds today is not known.
    assert table.rows == [("night sitter", 5, None)]
    assert "at least 5" in table.note


def test_a_search_counts_as_followed_when_a_booking_there_came_within_seven_days(market):
    table = demand.build(PERIOD).table("search-to-booking")
    # Home care with a district: s1, s2, s3, s4, s8, s9, s10 = 7; followed: s1 (b1 three days
    # later), s2 (b2 one minute inside 7 days) and s10 (a booking at the same moment) = 3/7;
    # s3's booking came exactly 7 days later. Meals: s6 (PE2), no booking there.
    assert table.rows == [("Home care", 7, 3, pytest.approx(3 / 7)), ("Meals", 1, 0, 0.0)]
    assert table.total == ("Total", 8, 3, 0.375)


def test_turned_away_counts_declines_full_services_and_who_cancelled(market):
    report = demand.build(PERIOD)
    table = report.table("turned-away")
    assert table.rows == [("Home care", 5, 0, 2, 1, 2, 1), ("Meals", 1, 0, 1, 0, 0, 0)]
    assert table.total == ("Total", 6, 0, 3, 1, 2, 1)
    reasons = report.table("decline-reasons")
    # "no staff available" however written: 5 (the sixth is after the period); the reason
    # naming someone was given once, so it is only counted under "Other reasons".
    assert reasons.rows == [("no staff available", 5), ("Other reasons", 1)]
    assert reasons.total == ("Total", 6)


def test_headline_figures(market):
    figures = {f.label: f.value for f in demand.build(PERIOD).figures}
    assert figures["Searches"] == 10
    assert figures["Searches that found nothing"] == 0.6
    assert figures["Searches followed by a booking within 7 days"] == 0.375
    assert figures["Requests turned away because the service was full"] == SUPPRESSED  # 3 people


def test_filters_pick_the_searches_and_requests_they_name(market, category):
    home = demand.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, category=category("home-care")))
    # s1-s4, s7-s10: nothing s1, s4, s8, s9, s10; fewer than 3 those and s2, s7.
    assert home.table("searches-by-month").total == ("Total", 8, 5, 7)
    assert [row[0] for row in home.table("turned-away").rows] == ["Home care"]

    pe1 = demand.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, district="PE1"))
    assert pe1.table("searches-by-area").rows == [("PE1", 5, 4, 5, 1.0)]
    assert pe1.table("turned-away").rows == [("Home care", 0, 0, 2, 0, 0, 0)]

    card = demand.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, way=WayOfPaying.DIRECT_PAYMENT))
    assert card.table("searches-by-month").total == ("Total", 1, 0, 0)  # s6 asked for prepaid cards
    assert "Prepaid card" in card.table("searches-by-month").note
    # No booking here was paid by prepaid card; the anonymous turned-away requests still count.
    assert card.table("turned-away").rows == [("Home care", 0, 0, 2, 0, 0, 0), ("Meals", 0, 0, 1, 0, 0, 0)]

    managed = demand.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, way=WayOfPaying.MANAGED))
    assert managed.table("searches-by-month").total == ("Total", 1, 1, 1)  # s9 asked for personal budgets


def test_an_empty_database_gives_empty_tables(app):
    report = demand.build(PERIOD)
    assert [t.slug for t in report.tables] == [
        "searches-by-month",
        "searches-by-area",
        "words-found-nothing",
        "search-to-booking",
        "turned-away",
        "decline-reasons",
    ]
    assert all(t.rows == [] and t.total is None for t in report.tables)
    assert {f.label: f.value for f in report.figures}["Searches that found nothing"] is None


def test_followed_searches_are_the_same_by_lookup_and_by_window_to_the_microsecond(app, make_service, make_user):
    """PostgreSQL looks the next booking up by binary search, SQLite by a window: both must
    count the same searches, whatever the dialect, at the edges of the week."""
    home = make_service(category="home-care")
    citizen = make_user(Role.CITIZEN)
    tick = dt.timedelta(microseconds=1)
    week = dt.timedelta(days=demand_follow.FOLLOW_DAYS)
    base = at(2026, 2, 10, 10)
    # Each search in its own district, with one booking placed against it.
    placed = {
        "PE1": base - tick,  # a microsecond before the search: not followed
        "PE2": base,  # at the same moment: followed
        "PE3": base + week - tick,  # a microsecond inside the week: followed
        "PE4": base + week,  # exactly a week later: not followed
    }
    for district, when in placed.items():
        add_search(base, category="home-care", district=district)
        add_booking(home, citizen, created_at=when, district=district)
    add_search(base, category="home-care", district="PE5")  # no booking there at all
    add_search(base, category="no-such-type", district="PE2")  # not a type of support: not counted
    expected = {home.category_id: (5, 2)}
    assert demand_follow.followed_searches(PERIOD) == expected
    assert demand_follow._followed_by_window(PERIOD) == expected
    if db.session.get_bind().dialect.name == "postgresql":
        assert demand_follow._followed_by_lookup(PERIOD) == expected


def test_followed_searches_are_the_same_by_lookup_and_by_window_on_the_market(market, category):
    for f in (PERIOD, ReportFilter(PERIOD.first_month, PERIOD.last_month, category=category("home-care"), district="PE1")):
        assert demand_follow.followed_searches(f) == demand_follow._followed_by_window(f)


def test_monthly_and_district_tables_are_folded_from_one_count(market):
    counted = demand.search_counts(PERIOD)
    # January to March by index; s5 and s7 gave no postcode (None).
    assert counted.by_month() == {0: (3, 1, 2), 1: (4, 2, 3), 2: (3, 3, 3)}
    assert counted.by_district()[None] == (2, 1, 2)
    assert demand.searches_by_month(PERIOD, counted).rows == demand.searches_by_month(PERIOD).rows
