"""The quality report on a small fixed market: the CQC rating mix of published services and
of spend (from real deliveries, so the spend facts are the ledger's), checked by hand."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import BudgetType, CQCRating, Provider, ProviderStatus, Role, WayOfPaying
from app.services.reports import quality
from tests.services.reports.market_helpers import deliver_booking, wide_filter

GOOD_SPEND = "Share of spend with providers rated Good or Outstanding"


@pytest.fixture
def market(app, make_provider, make_service, make_budget, make_user, policy):
    """Spend: A (Outstanding) £40, B (Good) £30, C (Requires improvement, in PE2, paid from an
    ISF) £10, E (not regulated by CQC) £20, G (Good, suspended since) £5: £105 in all.
    Listed: D (regulated, not yet rated) home care and F (Inadequate) transport, no spend."""
    a = make_provider(name="Alpha", rating=CQCRating.OUTSTANDING)
    b = make_provider(name="Beta", rating=CQCRating.GOOD)
    c = make_provider(name="Gamma", rating=CQCRating.REQUIRES_IMPROVEMENT, base_district="PE2", areas=["PE2"])
    d = make_provider(name="Delta", rating=None)
    e = make_provider(name="Epsilon", rating=None, cqc_location_id=None, cqc_provider_id=None)
    f = make_provider(name="Zeta", rating=CQCRating.INADEQUATE)
    g = make_provider(name="Eta", rating=CQCRating.GOOD)
    staff = make_user(Role.PROVIDER)
    managed = make_budget(amount=50_000)
    isf = make_budget(amount=50_000, budget_type=BudgetType.ISF, isf_provider=c)
    deliver_booking(make_service(provider=a, price_pence=2_000), managed, staff=staff, policy=policy, units=2)
    deliver_booking(make_service(provider=b, price_pence=3_000), managed, staff=staff, policy=policy)
    deliver_booking(make_service(provider=c, price_pence=1_000), isf, staff=staff, policy=policy)
    meals = make_service(provider=e, category="meals", price_pence=2_000, accepts_personal_budget=True, accepts_prepaid_card=False)
    deliver_booking(meals, managed, staff=staff, policy=policy)
    deliver_booking(make_service(provider=g, price_pence=500), managed, staff=staff, policy=policy)
    make_service(provider=d)
    make_service(provider=f, category="transport")
    db.session.get(Provider, g.id).status = ProviderStatus.SUSPENDED
    db.session.commit()


def by_category(report) -> dict:
    table = report.table("services")
    keys = [c.key for c in table.columns][1:]
    return {row[0]: dict(zip(keys, row[1:], strict=True)) for row in table.rows if row[-1]}


def test_services_by_rating(market):
    report = quality.build(wide_filter())
    none = dict.fromkeys(("outstanding", "good", "requires_improvement", "inadequate", "not_rated", "not_regulated"), 0)
    assert by_category(report) == {
        "Home care": none | {"outstanding": 1, "good": 1, "requires_improvement": 1, "not_rated": 1, "total": 4},
        "Meals": none | {"not_regulated": 1, "total": 1},
        "Transport": none | {"inadequate": 1, "total": 1},
    }  # G's listing is not counted: G is suspended
    assert report.table("services").total == ("All types of support", 1, 1, 1, 1, 1, 1, 6)
    assert report.table("services").chart.series == ("outstanding", "good", "requires_improvement", "inadequate")


def test_spend_by_rating_uses_each_providers_rating_now(market):
    report = quality.build(wide_filter())
    spend = report.table("spend")
    assert spend.rows == [
        ("Outstanding", 4_000, pytest.approx(4_000 / 10_500)),
        ("Good", 3_500, pytest.approx(3_500 / 10_500)),  # B's £30 and G's £5: G is suspended but still rated Good
        ("Requires improvement", 1_000, pytest.approx(1_000 / 10_500)),
        ("Inadequate", 0, 0),
        ("Not yet rated", 0, 0),
        ("Not regulated by CQC", 2_000, pytest.approx(2_000 / 10_500)),
    ]
    assert spend.total == ("All ratings", 10_500, 1)
    figures = {figure.label: figure.value for figure in report.figures}
    # (4000 + 3500) / 10500 = 0.714...; services: 2 of 6 rated Good or Outstanding.
    assert figures[GOOD_SPEND] == pytest.approx(7_500 / 10_500)
    assert figures["Share of published services rated Good or Outstanding"] == pytest.approx(2 / 6)
    assert figures["Published services of providers rated Inadequate"] == 1


def test_filters_narrow_services_and_spend(market, category):
    isf = quality.build(wide_filter(way=WayOfPaying.ISF))
    assert [row[1] for row in isf.table("spend").rows] == [0, 0, 1_000, 0, 0, 0]
    assert {f.label: f.value for f in isf.figures}[GOOD_SPEND] == 0
    assert isf.table("services").total[-1] == 6  # every listing here takes personal budgets

    card = quality.build(wide_filter(way=WayOfPaying.DIRECT_PAYMENT))
    assert "Meals" not in by_category(card)  # E's meals take no prepaid cards

    pe2 = quality.build(wide_filter(district="PE2"))
    assert pe2.table("spend").total[1] == 1_000
    assert pe2.table("services").total[-1] == 1

    meals = quality.build(wide_filter(category=category("meals")))
    assert meals.table("spend").total[1] == 2_000 and [row[0] for row in meals.table("services").rows] == ["Meals"]


def test_an_empty_database_gives_empty_tables(app):
    report = quality.build(wide_filter())
    assert report.slug == "quality"
    assert report.table("spend").total == ("All ratings", 0, None)
    assert all(row[-1] == 0 for row in report.table("services").rows)
    assert {f.label: f.value for f in report.figures}[GOOD_SPEND] is None
