"""`flask demo load`: a realistic, deterministic market, and safe to run again."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Category,
    CQCRating,
    FrameworkMembership,
    MembershipStatus,
    PostcodeDistrict,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
)
from app.services import demo
from app.services.catalogue import listed_services_filter
from app.services.geo import miles_between


def _snapshot() -> dict:
    """Everything the demo loader writes, as plain values."""
    out = {}
    from app.models import Booking, BookingVisit, LedgerEntry, LedgerTransaction, PersonalBudget, User

    for model in (PostcodeDistrict, Provider, Service, FrameworkMembership, User, PersonalBudget, Booking, BookingVisit,
                  LedgerTransaction, LedgerEntry):
        rows = db.session.execute(select(model)).scalars().all()
        out[model.__tablename__] = sorted(
            tuple(sorted((c.key, str(getattr(row, c.key))) for c in model.__table__.columns)) for row in rows
        )
    return out


def test_demo_load_is_idempotent_through_the_cli(runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Created 48 providers" in first.output
    before = _snapshot()

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    db.session.expire_all()
    assert _snapshot() == before


def test_demo_market_is_realistic(app):
    demo.load(demo_mode=True)
    providers = db.session.execute(select(Provider)).scalars().all()
    assert len(providers) >= 40
    listed = db.session.execute(
        select(func.count(Service.id)).join(Provider).where(listed_services_filter())
    ).scalar_one()
    assert listed >= 200

    categories_in_use = db.session.execute(
        select(func.count(func.distinct(Service.category_id))).join(Provider).where(listed_services_filter())
    ).scalar_one()
    assert categories_in_use >= 10

    ratings = Counter(p.cqc_overall for p in providers)
    assert ratings[CQCRating.GOOD] > ratings[CQCRating.OUTSTANDING] > 0
    assert ratings[CQCRating.REQUIRES_IMPROVEMENT] > 0
    assert 0 < ratings[CQCRating.INADEQUATE] <= 4
    assert any(p.is_cqc_regulated and not p.is_rated for p in providers), "some registered but not yet rated"
    assert any(not p.is_cqc_regulated for p in providers), "some not regulated by CQC"

    statuses = Counter(s.status for s in db.session.execute(select(Service)).scalars())
    assert statuses[ServiceStatus.WITHDRAWN] >= 3
    assert any(p.status is ProviderStatus.PENDING for p in providers)

    memberships = db.session.execute(select(FrameworkMembership)).scalars().all()
    on_framework = {m.provider_id for m in memberships if m.status is MembershipStatus.APPROVED}
    assert 10 <= len(on_framework) < len([p for p in providers if p.status is ProviderStatus.VERIFIED])


def test_demo_prices_are_plausible(app):
    demo.load(demo_mode=True)
    home_care = db.session.execute(
        select(Service.price_pence).join(Category).where(Category.slug == "home-care", Service.price_unit == "hour")
    ).scalars().all()
    assert home_care and all(2000 <= p <= 3000 for p in home_care)
    meals = db.session.execute(
        select(Service.price_pence).join(Category).where(Category.slug == "meals")
    ).scalars().all()
    assert meals and all(300 <= p <= 900 for p in meals)


def test_demo_districts_are_peterborough_and_neighbours(app):
    demo.load(demo_mode=True)
    districts = {d.outward_code: d for d in db.session.execute(select(PostcodeDistrict)).scalars()}
    assert {f"PE{n}" for n in range(1, 9)} <= set(districts)
    pe1 = districts["PE1"]
    # Peterborough city centre to Stamford is about 12 miles; to Huntingdon about 18.
    assert 10 < miles_between(pe1.latitude, pe1.longitude, districts["PE9"].latitude, districts["PE9"].longitude) < 15
    assert 15 < miles_between(pe1.latitude, pe1.longitude, districts["PE29"].latitude, districts["PE29"].longitude) < 21


def test_demo_market_is_deterministic():
    from app.services.demo.catalogue import build_market

    towns = {f"PE{n}": "Peterborough" for n in range(1, 9)}

    def distance(a, b):
        return abs(int(a[2:]) - int(b[2:])) * 3.0

    first = build_market(towns, distance)
    second = build_market(towns, distance)
    assert [(p.slug, [s.title for s in p.services]) for p in first] == [(p.slug, [s.title for s in p.services]) for p in second]


def test_demo_loading_is_refused_outside_demo_mode(app, runner):
    with pytest.raises(demo.DemoRefused):
        demo.load(demo_mode=False)
    app.config["DEMO_MODE"] = False
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code != 0
    assert "only be loaded in demo mode" in result.output
    assert db.session.execute(select(func.count(Provider.id))).scalar_one() == 0


def test_demo_budgets_have_history_that_adds_up(app):
    from app.models import BookingStatus, User, VisitStatus
    from app.services import bookings, budgets, ledger
    from app.services.policy import current_policy

    demo.load(demo_mode=True)
    margaret = db.session.execute(select(User).where(User.email == "citizen@demo.test")).scalar_one()
    [budget] = budgets.budgets_for_citizen(margaret)
    figures = budgets.summary(budget)
    assert figures.balances and figures.spent_pence > 0 and figures.held_pence > 0
    periods = budgets.statement_periods(budget, current_policy())
    assert len(periods) >= 4  # three periods of history and this one
    past = [budgets.statement(budget, *p) for p in periods[1:]]
    assert all(st.money_in_pence == 42_000 and st.paid_pence > 0 and st.closing_held_pence == 0 for st in past)
    assert any(st.released_pence for st in past)  # a visit cancelled in good time, and one cut short
    mine = bookings.bookings_for_citizen(margaret)
    assert {b.status for b in mine} >= {BookingStatus.COMPLETED, BookingStatus.ACCEPTED, BookingStatus.REQUESTED}
    assert any(v.status is VisitStatus.CANCELLED for b in mine for v in b.visits)
    joan = db.session.execute(select(User).where(User.email == "isf@demo.test")).scalar_one()
    [isf] = budgets.budgets_for_citizen(joan)
    assert isf.is_isf and budgets.summary(isf).spent_pence > 0
    assert ledger.check() == []
