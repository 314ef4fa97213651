"""The prices report on a small fixed market: the spread of listed prices (quartiles as a
spreadsheet's QUARTILE.INC, rounded half up), the average paid per unit delivered on and
off the framework, and its monthly trend, each checked against figures worked by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from app.models import MembershipStatus, PriceUnit, ProviderStatus, Role, ServiceStatus, VisitStatus, WayOfPaying
from app.services.reports import prices, reference_rates
from app.services.reports.filters import ReportFilter
from tests.services.reports.test_supply import add_booking, add_visit, council_area

FEB, MAR, APR = dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)


@pytest.fixture
def market(app, make_district, make_provider, make_service, make_budget, make_user, make_lot, make_membership, make_commissioner, category):
    """Home care by the hour is listed at £18.00 (A, on the framework), £20.01 (B), £22.00 (C,
    in PE2 only, self-funders only) and £30.00 (D); A also lists home care at £15.00 a visit.
    A draft listing and a suspended provider's listing do not count."""
    council_area(make_district)
    a = make_provider(name="Alpha", areas=["PE1"])
    b = make_provider(name="Beta", areas=["PE1"])
    c = make_provider(name="Gamma", areas=["PE2"])
    d = make_provider(name="Delta", areas=["PE1"])
    lot = make_lot("home-care")
    make_membership(lot, a)
    make_membership(lot, b, status=MembershipStatus.SUSPENDED)
    a_hour = make_service(provider=a, price_pence=1_800)
    a_visit = make_service(provider=a, price_pence=1_500, price_unit=PriceUnit.VISIT)
    b_hour = make_service(provider=b, price_pence=2_001)
    make_service(provider=c, price_pence=2_200, accepts_personal_budget=False, accepts_prepaid_card=False)
    make_service(provider=d, price_pence=3_000)
    make_service(provider=d, price_pence=100, status=ServiceStatus.DRAFT)
    make_service(provider=make_provider(status=ProviderStatus.SUSPENDED), price_pence=9_999)
    meals = make_service(provider=b, category="meals", price_pence=600, price_unit=PriceUnit.ITEM)
    reference_rates.set_rate(make_commissioner(), category("home-care"), PriceUnit.HOUR, 2_000, "Fair Cost of Care median")

    citizen = make_user(Role.CITIZEN)
    budget = make_budget()
    managed = add_booking(a_hour, citizen, district="PE1", budget=budget)
    add_visit(managed, "2026-02-10T10:00:00", 2, delivered_units=2, charged_pence=3_600)
    add_visit(managed, "2026-03-10T10:00:00", 3, delivered_units=3, charged_pence=5_400)
    add_visit(managed, "2026-01-10T10:00:00", 9, delivered_units=9, charged_pence=90_000)  # before the period
    add_visit(managed, "2026-03-11T10:00:00", 2, delivered_units=0, charged_pence=0)  # nothing delivered
    add_visit(managed, "2026-03-12T10:00:00", 2, VisitStatus.LATE_CANCELLED, charged_pence=3_600)  # not delivered
    add_visit(
        add_booking(a_visit, citizen, district="PE1", budget=budget), "2026-03-15T10:00:00", 1, delivered_units=1, charged_pence=1_500
    )
    own = add_booking(b_hour, citizen, district="PE2")
    add_visit(own, "2026-02-11T10:00:00", 1, delivered_units=1, charged_pence=2_001)
    # 23:30 UTC on 31 March is 00:30 on 1 April in the UK: an April visit.
    add_visit(own, "2026-03-31T23:30:00", 4, delivered_units=4, charged_pence=8_004)
    add_visit(add_booking(meals, citizen, district="PE2"), "2026-02-12T12:00:00", 10, delivered_units=10, charged_pence=6_000)


def table(report, slug) -> dict:
    found = report.table(slug)
    return {(row[0], row[1]): dict(zip([c.key for c in found.columns][2:], row[2:], strict=True)) for row in found.rows}


def test_listed_prices_spread_against_the_reference_rate(market):
    listed = table(prices.build(ReportFilter(FEB, APR)), "listed")
    # Hourly home care: 1800, 2001, 2200, 3000. Lower quartile at rank 0.75: 1800 + 0.75 x 201
    # = 1950.75 -> 1951; median at rank 1.5: 2100.5 -> 2101 (half up); upper quartile at rank
    # 2.25: 2200 + 0.25 x 800 = 2400. Against the £20.00 reference: 2100.5 / 2000 - 1 = 0.05025.
    hour = listed[("Home care", "hour")]
    assert hour == {
        "services": 4,
        "lowest": 1_800,
        "lower_quartile": 1_951,
        "median": 2_101,
        "upper_quartile": 2_400,
        "highest": 3_000,
        "reference": 2_000,
        "source": "Fair Cost of Care median",
        "difference": pytest.approx(0.05025),
    }
    visit = listed[("Home care", "visit")]
    assert (visit["services"], visit["median"], visit["reference"], visit["difference"]) == (1, 1_500, None, None)
    assert set(listed) == {("Home care", "hour"), ("Home care", "visit"), ("Meals", "item")}


def test_listed_prices_follow_district_and_way(market):
    in_pe2 = table(prices.build(ReportFilter(FEB, APR, district="PE2")), "listed")
    assert set(in_pe2) == {("Home care", "hour")} and in_pe2[("Home care", "hour")]["median"] == 2_200
    by_card = table(prices.build(ReportFilter(FEB, APR, way=WayOfPaying.DIRECT_PAYMENT)), "listed")
    # C takes self-funders only: 1800, 2001, 3000 leave a median of 2001.
    assert by_card[("Home care", "hour")]["services"] == 3 and by_card[("Home care", "hour")]["median"] == 2_001


def test_paid_per_unit_is_weighted_by_units_delivered(market):
    paid = table(prices.build(ReportFilter(FEB, APR)), "paid")
    # Framework (A): (3600 + 5400) / (2 + 3) = 1800. Other (B, suspended on the lot): (2001 +
    # 8004) / (1 + 4) = 2001. All: 19005 / 10 = 1900.5 -> 1901. Against the reference: 1900.5
    # / 2000 - 1 = -0.04975; framework against other: 1800 / 2001 - 1 = -0.10045.
    assert paid[("Home care", "hour")] == {
        "framework": 1_800,
        "framework_units": 5,
        "other": 2_001,
        "other_units": 5,
        "average": 1_901,
        "reference": 2_000,
        "against_reference": pytest.approx(-0.04975),
        "framework_against_other": pytest.approx(1_800 / 2_001 - 1),
    }
    visit = paid[("Home care", "visit")]
    assert (visit["framework"], visit["other"], visit["average"], visit["framework_against_other"]) == (1_500, None, 1_500, None)
    assert paid[("Meals", "item")]["other"] == 600


def test_paid_follows_way_and_district(market):
    managed = table(prices.build(ReportFilter(FEB, APR, way=WayOfPaying.MANAGED)), "paid")
    assert set(managed) == {("Home care", "hour"), ("Home care", "visit")}
    assert (managed[("Home care", "hour")]["framework"], managed[("Home care", "hour")]["other"]) == (1_800, None)
    in_pe2 = table(prices.build(ReportFilter(FEB, APR, district="PE2")), "paid")
    assert in_pe2[("Home care", "hour")]["average"] == 2_001 and in_pe2[("Home care", "hour")]["framework"] is None


def test_trend_of_home_care_hours_against_the_first_month(market):
    report = prices.build(ReportFilter(FEB, APR))
    trend = report.table("trend")
    # February: (3600 + 2001) / 3 = 1867; March: 5400 / 3 = 1800; April: 8004 / 4 = 2001.
    assert [row[:3] for row in trend.rows] == [(FEB, 1_867, 3), (MAR, 1_800, 3), (APR, 2_001, 4)]
    assert [row[3] for row in trend.rows] == [0, pytest.approx(1_800 / 1_867 - 1), pytest.approx(2_001 / 1_867 - 1)]
    assert trend.total == ("All months", 1_901, 10, None)
    assert "£28.53" in trend.note and trend.chart.kind == "line"
    figures = {figure.label: figure.value for figure in report.figures}
    assert figures["Median listed price per hour: Home care"] == 2_101
    assert figures["Average paid per hour: Home care"] == 1_901
    assert figures["Change in the average paid per hour"] == pytest.approx(2_001 / 1_867 - 1)


def test_trend_for_a_type_of_support_not_sold_by_the_hour_uses_its_own_unit(market, category):
    trend = prices.build(ReportFilter(FEB, APR, category=category("meals"))).table("trend")
    assert trend.caption == "Meals: average paid per item, by month"
    assert [row[1] for row in trend.rows] == [600, None, None]
    managed = prices.build(ReportFilter(FEB, APR, way=WayOfPaying.MANAGED)).table("trend")
    assert [row[1:] for row in managed.rows] == [(1_800, 2, 0), (1_800, 3, 0), (None, 0, None)]


def test_an_empty_database_gives_empty_tables(app):
    report = prices.build(ReportFilter(FEB, MAR))
    assert report.slug == "prices" and report.table("listed").rows == [] and report.table("paid").rows == []
    assert report.table("trend").rows == [(FEB, None, 0, None), (MAR, None, 0, None)]
    assert all(figure.value is None for figure in report.figures)
