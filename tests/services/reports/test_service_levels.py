"""The providers' service report: requests, median hours to answer, acceptance, visits
the provider cancelled and median hours to reply to enquiries, worked by hand."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import BookingStatus, Enquiry, Role, VisitStatus, WayOfPaying
from app.services.reports import service_levels
from app.services.reports.filters import ReportFilter
from tests.services.reports.test_demand import PERIOD, add_booking, add_visit, at


def add_enquiry(service, citizen, asked, answered=None):
    db.session.add(
        Enquiry(
            service_id=service.id,
            provider_id=service.provider_id,
            citizen_id=citizen.id,
            started_by_id=citizen.id,
            subject="A question",
            created_at=asked,
            last_message_at=answered or asked,
            first_response_at=answered,
        )
    )
    db.session.commit()


@pytest.fixture
def market(app, make_service, make_provider, make_user, make_provider_staff):
    alpha = make_service(provider=make_provider(name="Alpha Care"), category="home-care")
    beta = make_service(provider=make_provider(name="Beta Care", base_district="PE2"), category="meals")
    late = make_service(provider=make_provider(name="Gamma Care"), category="home-care")
    citizen = make_user(Role.CITIZEN)
    staff = make_provider_staff(alpha.provider)
    # Alpha: answered after 2, 6, 24 and 1 hours (median 4), one waiting; three of the four
    # answered were accepted (one completed, one later cancelled).
    a1 = add_booking(alpha, citizen, created_at=at(2026, 1, 5, 10), decided_at=at(2026, 1, 5, 12), status=BookingStatus.ACCEPTED)
    add_booking(alpha, citizen, created_at=at(2026, 1, 6, 10), decided_at=at(2026, 1, 6, 16), status=BookingStatus.DECLINED, reason="Full")
    add_booking(alpha, citizen, created_at=at(2026, 2, 1, 10), decided_at=at(2026, 2, 2, 10), status=BookingStatus.COMPLETED)
    add_booking(alpha, citizen, created_at=at(2026, 2, 3, 10), decided_at=at(2026, 2, 3, 11), status=BookingStatus.CANCELLED)
    add_booking(alpha, citizen, created_at=at(2026, 3, 1, 10))
    add_visit(a1, status=VisitStatus.CANCELLED, settled_at=at(2026, 2, 10), settled_by=staff)  # by the provider
    add_visit(a1, status=VisitStatus.CANCELLED, settled_at=at(2026, 2, 11), settled_by=citizen)  # by the person
    # Beta (meals, PE2): answered after half an hour and 15.5 hours (median 8), both accepted.
    add_booking(
        beta, citizen, created_at=at(2026, 1, 10, 10), decided_at=at(2026, 1, 10, 10, 30), status=BookingStatus.ACCEPTED, district="PE2"
    )
    add_booking(
        beta, citizen, created_at=at(2026, 1, 11, 10), decided_at=at(2026, 1, 12, 1, 30), status=BookingStatus.ACCEPTED, district="PE2"
    )
    # Gamma's only request was before the period: it is not listed.
    add_booking(late, citizen, created_at=at(2025, 12, 20, 10), decided_at=at(2025, 12, 20, 11), status=BookingStatus.ACCEPTED)
    # Enquiries: Alpha replied after 3 and 1 hours (median 2) and not yet to a third; Beta after 24.
    add_enquiry(alpha, citizen, at(2026, 1, 7, 9), at(2026, 1, 7, 12))
    add_enquiry(alpha, citizen, at(2026, 1, 8, 9), at(2026, 1, 8, 10))
    add_enquiry(alpha, citizen, at(2026, 1, 9, 9))
    add_enquiry(beta, citizen, at(2026, 2, 1, 9), at(2026, 2, 2, 9))
    return alpha, beta


def test_each_provider_with_requests_slowest_first(market):
    table = service_levels.build(PERIOD).table("by-provider")
    assert table.rows == [
        ("Beta Care", 2, 8.0, 1.0, 0, 24.0),
        ("Alpha Care", 5, 4.0, 0.75, 1, 2.0),
    ]
    # All six answers: 0.5, 1, 2, 6, 15.5, 24 hours, median (2 + 6) / 2 = 4; 5 of 6 accepted;
    # enquiry replies 1, 3, 24 hours, median 3.
    assert table.total == ("All providers", 7, 4.0, pytest.approx(5 / 6), 1, 3.0)
    assert "Days from delivery to payment" in table.note
    assert [c.key for c in table.columns] == ["provider", "requests", "answer_hours", "accepted", "cancelled", "reply_hours"]


def test_the_slowest_table_is_charted_and_the_summary_figures(market):
    report = service_levels.build(PERIOD)
    slowest = report.table("slowest")
    assert slowest.rows == [("Beta Care", 8.0, 2), ("Alpha Care", 4.0, 5)]
    assert slowest.chart.series == ("answer_hours",)
    figures = {f.label: f.value for f in report.figures}
    assert figures["Median hours to answer a request"] == 4.0
    assert figures["Requests accepted"] == pytest.approx(5 / 6)
    assert figures["Median hours to reply to an enquiry"] == 3.0


def test_filters(market, category):
    meals = service_levels.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, category=category("meals")))
    assert meals.table("by-provider").rows == [("Beta Care", 2, 8.0, 1.0, 0, 24.0)]
    pe2 = service_levels.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, district="PE2"))
    assert [row[0] for row in pe2.table("by-provider").rows] == ["Beta Care"]
    own_money = service_levels.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, way=WayOfPaying.SELF_FUNDED))
    assert len(own_money.table("by-provider").rows) == 2  # every booking here was paid by the person's own card
    managed = service_levels.build(ReportFilter(PERIOD.first_month, PERIOD.last_month, way=WayOfPaying.MANAGED))
    assert managed.table("by-provider").rows == []


def test_an_empty_database_gives_empty_tables(app):
    report = service_levels.build(PERIOD)
    assert [t.slug for t in report.tables] == ["by-provider", "slowest", "days-to-pay"]
    assert all(t.rows == [] and t.total is None for t in report.tables)
    assert {f.label: f.value for f in report.figures}["Median hours to answer a request"] is None
