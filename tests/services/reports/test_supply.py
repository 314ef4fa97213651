"""The supply report on a small fixed market: who covers which district (listed areas and
a service radius), capacity offered against booked, and monthly changes from the audit
trail, each checked against figures worked by hand."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from app.extensions import db
from app.models import (
    BookingStatus,
    BookingVisit,
    CouncilDistrict,
    PriceUnit,
    ProviderStatus,
    Role,
    ServiceStatus,
    VisitStatus,
    WayOfPaying,
)
from app.services import audit
from app.services.reports import supply
from app.services.reports.filters import ReportFilter
from tests.services.reports.market_helpers import add_booking

_n = itertools.count(1)
FEB = dt.date(2026, 2, 1)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def add_visit(booking, starts: str, units: int, status=VisitStatus.DELIVERED, delivered_units=None, charged_pence=0) -> BookingVisit:
    start = at(starts)
    visit = BookingVisit(
        booking_id=booking.id,
        starts_at=start,
        ends_at=start + dt.timedelta(hours=units),
        units=units,
        amount_pence=booking.unit_price_pence * units,
        status=status,
        delivered_units=delivered_units,
        charged_pence=charged_pence,
    )
    db.session.add(visit)
    db.session.commit()
    return visit


def council_area(make_district, codes=("PE1", "PE2", "PE3")):
    # PE2 is 2.07 miles north of PE1, PE3 6.9 miles; PE9 3.45 miles (outside the council).
    for code, lat in (("PE1", 52.0), ("PE2", 52.03), ("PE3", 52.10), ("PE9", 52.05)):
        make_district(code, lat=lat, lon=0.0)
    for code in codes:
        db.session.add(CouncilDistrict(outward_code=code))
    db.session.commit()


def record(action: str, target_type: str, target_id: int, when: str) -> None:
    event = audit.record(None, action, target_type, target_id)
    event.occurred_at = at(when)
    db.session.commit()


@pytest.fixture
def market(app, make_district, make_provider, make_service, make_budget, make_user):
    """A lists PE1: home care S1 (Mon-Fri 09:00-17:00, two at once: 80 hours a week) and S2
    (Monday overnight 22:00-07:00, one at once: 9 hours). B is based in PE1 with a 3-mile
    radius (PE1 and PE2, not PE3): day opportunities S3 (Mon, Wed, Fri; ten a day: 30 days a
    week). C lists PE3: meals S5 (every day, 20 a day: 140 items a week), self-funders only,
    and a withdrawn home care listing. D lists PE1 but is suspended."""
    council_area(make_district)
    a = make_provider(name="Alpha", areas=["PE1"])
    b = make_provider(name="Beta", areas=[], service_radius_miles=3)
    c = make_provider(name="Gamma", base_district="PE3", areas=["PE3"])
    d = make_provider(name="Delta", areas=["PE1"], status=ProviderStatus.SUSPENDED)
    s1 = make_service(provider=a, capacity=2, hours=[(day, "09:00", "17:00") for day in range(5)])
    s2 = make_service(provider=a, capacity=1, hours=[(0, "22:00", "07:00")])
    s3 = make_service(provider=b, category="day-opportunities", price_unit=PriceUnit.DAY, price_pence=5_000, capacity=10,
                      hours=[(0, "10:00", "16:00"), (2, "10:00", "16:00"), (4, "10:00", "16:00")])  # fmt: skip
    s5 = make_service(provider=c, category="meals", price_unit=PriceUnit.ITEM, price_pence=600, capacity=20,
                      accepts_personal_budget=False, accepts_prepaid_card=False, published_at=at("2026-03-31T23:30:00"),
                      hours=[(day, "11:00", "13:00") for day in range(7)])  # fmt: skip
    make_service(provider=c, status=ServiceStatus.WITHDRAWN)
    s6 = make_service(provider=d)
    citizen = make_user(Role.CITIZEN)
    budget = make_budget()
    # February 2026 is exactly four weeks. Home care booked there: 4 x 2 hours delivered, 6
    # hours cancelled late (still booked), 3 cancelled in time and 1 declined (not booked).
    own = add_booking(s1, citizen, district="PE1", status=BookingStatus.ACCEPTED)
    for day in (2, 9, 16, 23):
        add_visit(own, f"2026-02-{day:02d}T10:00:00", 2, delivered_units=2, charged_pence=4_800)
    add_visit(own, "2026-02-05T10:00:00", 3, VisitStatus.CANCELLED)
    add_visit(own, "2026-02-06T10:00:00", 1, VisitStatus.DECLINED)
    add_visit(own, "2026-01-31T10:00:00", 5)  # January: outside the period
    add_visit(add_booking(s2, citizen, district="PE2", status=BookingStatus.ACCEPTED), "2026-02-09T22:00:00", 6, VisitStatus.LATE_CANCELLED)
    add_visit(
        add_booking(s3, citizen, district="PE2", budget=budget, status=BookingStatus.ACCEPTED), "2026-02-11T10:00:00", 5, VisitStatus.HELD
    )
    # The audit trail: S1 first published in February, withdrawn and published again; S3
    # published in January; A verified in January; D verified before and suspended in March.
    record("service.published", "service", s1.id, "2026-02-03T09:00:00")
    record("service.withdrawn", "service", s1.id, "2026-02-10T09:00:00")
    record("service.published", "service", s1.id, "2026-02-20T09:00:00")
    record("service.published", "service", s3.id, "2026-01-15T09:00:00")
    record("service.published", "service", s6.id, "2025-11-15T09:00:00")
    record("provider.verified", "provider", a.id, "2026-01-05T09:00:00")
    record("provider.verified", "provider", d.id, "2025-12-01T09:00:00")
    record("provider.suspended", "provider", d.id, "2026-03-10T09:00:00")
    return {"s1": s1, "s2": s2, "s3": s3, "s5": s5}


def rows(report, slug):
    return report.table(slug).rows


def cells(report) -> dict:
    return {(category, district): (providers, services) for category, district, providers, services in rows(report, "by-area")}


def test_by_area_counts_listed_areas_and_the_radius(market):
    report = supply.build(ReportFilter(FEB, FEB))
    found = cells(report)
    assert found[("Home care", "PE1")] == (1, 2)  # A's S1 and S2; D is suspended, C's listing withdrawn
    assert found[("Home care", "PE2")] == (0, 0)
    assert found[("Day opportunities", "PE1")] == found[("Day opportunities", "PE2")] == (1, 1)  # B's radius
    assert found[("Day opportunities", "PE3")] == (0, 0)  # 6.9 miles: outside B's 3
    assert found[("Meals", "PE3")] == (1, 1)
    assert not [key for key in found if key[1] == "PE9"]  # not one of the council's districts
    assert report.table("by-area").total == ("All types of support", "All districts", 3, 4)
    by_category = {row[0]: row[1:] for row in rows(report, "by-category")}
    assert by_category["Home care"] == (1, 2, 2)  # providers, services, districts with none (PE2, PE3)
    assert by_category["Day opportunities"] == (1, 1, 1)
    assert by_category["Transport"] == (0, 0, 3)
    assert report.table("by-area").chart is None  # no type of support chosen: by-category charts it
    assert report.figures[0].value == 4 and report.figures[1].value == 3


def test_filters_narrow_supply(market, category):
    home = supply.build(ReportFilter(FEB, FEB, category=category("home-care")))
    assert rows(home, "by-area") == [("Home care", "PE1", 1, 2), ("Home care", "PE2", 0, 0), ("Home care", "PE3", 0, 0)]
    assert home.table("by-area").chart.label == "district"

    pe2 = supply.build(ReportFilter(FEB, FEB, district="PE2"))
    assert [row for row in rows(pe2, "by-area") if row[3]] == [("Day opportunities", "PE2", 1, 1)]
    assert pe2.table("by-area").total[2:] == (1, 1)

    card = supply.build(ReportFilter(FEB, FEB, way=WayOfPaying.DIRECT_PAYMENT))  # C's meals take self-funders only
    assert card.table("by-area").total[2:] == (2, 3)
    assert cells(card)[("Meals", "PE3")] == (0, 0)


def test_capacity_offered_against_booked(market):
    capacity = {(row[0], row[1]): row[2:] for row in rows(supply.build(ReportFilter(FEB, FEB)), "capacity")}
    # Home care: 80 + 9 = 89 hours a week offered; booked 4 x 2 + 6 (late cancelled) = 14
    # hours over four weeks = 3.5 a week; 3.5 / 89 used.
    services, offered, booked, used = capacity[("Home care", "hour")]
    assert (services, offered, booked) == (2, pytest.approx(89), pytest.approx(3.5))
    assert used == pytest.approx(3.5 / 89)
    # Day opportunities: 3 days x 10 = 30 a week; 5 days booked / 4 weeks = 1.25.
    assert capacity[("Day opportunities", "day")] == (1, 30, pytest.approx(1.25), pytest.approx(1.25 / 30))
    assert capacity[("Meals", "item")] == (1, 140, 0, 0)


def test_capacity_booked_follows_district_and_way(market, category):
    by_district = {row[0]: row[4] for row in rows(supply.build(ReportFilter(FEB, FEB, district="PE1")), "capacity")}
    assert by_district == {"Home care": pytest.approx(2.0), "Day opportunities": 0}  # only S1's PE1 care: 8 / 4
    managed = {row[0]: row[4] for row in rows(supply.build(ReportFilter(FEB, FEB, way=WayOfPaying.MANAGED)), "capacity")}
    assert managed["Home care"] == 0 and managed["Day opportunities"] == pytest.approx(1.25)


def test_changes_by_month_from_the_audit_trail(market, category):
    period = ReportFilter(dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    table = supply.build(period).table("changes")
    # (month, listed, withdrawn, joined, suspended). S5 has no audit record: it counts when
    # published, 23:30 UTC on 31 March, which is 00:30 on 1 April in the UK.
    assert table.rows == [
        (dt.date(2026, 1, 1), 1, 0, 1, 0),
        (dt.date(2026, 2, 1), 1, 1, 0, 0),
        (dt.date(2026, 3, 1), 0, 0, 0, 1),
        (dt.date(2026, 4, 1), 1, 0, 0, 0),
    ]
    assert table.total == ("All months", 3, 1, 1, 1)
    assert table.chart.kind == "line"
    home = supply.build(period.__class__(period.first_month, period.last_month, category=category("home-care"))).table("changes")
    assert [row[1:] for row in home.rows] == [(0, 0, 1, 0), (1, 1, 0, 0), (0, 0, 0, 1), (0, 0, 0, 0)]
    pe3 = supply.build(ReportFilter(period.first_month, period.last_month, district="PE3")).table("changes")
    assert [row[1:] for row in pe3.rows] == [(0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), (1, 0, 0, 0)]


def test_an_empty_database_gives_empty_tables(app):
    report = supply.build(ReportFilter(FEB, dt.date(2026, 3, 1)), now=at("2026-04-01T00:00:00"))
    assert report.slug == "supply" and report.calculated_at == at("2026-04-01T00:00:00")
    assert rows(report, "by-area") == [] and rows(report, "capacity") == []
    assert all(row[1:] == (0, 0, 0) for row in rows(report, "by-category"))
    assert rows(report, "changes") == [(FEB, 0, 0, 0, 0), (dt.date(2026, 3, 1), 0, 0, 0, 0)]
