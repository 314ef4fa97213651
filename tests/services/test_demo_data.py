"""`flask demo load`: a realistic, deterministic market, and safe to run again."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    Category,
    CQCRating,
    FrameworkMembership,
    MembershipStatus,
    PeopleGroup,
    PostcodeDistrict,
    PriceUnit,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
)
from app.services import demo
from app.services.catalogue import listed_services_filter
from app.services.geo import miles_between


def _snapshot() -> dict:
    """Every row of every table (whatever the demo loader writes, now or later), as plain
    values, in an order that does not depend on the database."""
    out = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).mappings().all()
        out[table.name] = sorted(tuple(sorted((key, str(value)) for key, value in row.items())) for row in rows)
    return out


def test_demo_load_is_idempotent_through_the_cli(runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Created 48 providers" in first.output
    before = _snapshot()

    # The snapshot really covers what the loader writes, not only the first tables it had.
    written = {name for name, rows in before.items() if rows}
    assert {
        "postcode_districts",
        "providers",
        "provider_areas",
        "services",
        "service_hours",
        "frameworks",
        "framework_lots",
        "framework_memberships",
        "categories",
        "users",
        "personal_budgets",
        "bookings",
        "booking_visits",
        "ledger_transactions",
        "ledger_entries",
        "council_settings",
        "council_districts",
        "provider_bank_accounts",
        "payment_runs",
        "payment_run_lines",
        "payment_run_items",
        "visit_records",
        "ecm_uploads",
    } <= written
    # A year of payment runs: every complete period's approved, but the latest, ready to approve.
    from app.models import PaymentRun, RunStatus

    statuses = [r.status for r in db.session.execute(select(PaymentRun).order_by(PaymentRun.ends_on)).scalars()]
    assert len(statuses) >= 12 and set(statuses[:-1]) == {RunStatus.APPROVED} and statuses[-1] is RunStatus.PREPARED

    # Every listing says who it supports, those added during the year of history too.
    assert all(s.people_supported for s in db.session.execute(select(Service)).scalars())

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "nothing changed" in second.output
    db.session.expire_all()
    after = _snapshot()
    changed = sorted(name for name in before if before[name] != after[name])
    assert changed == [], f"loading the demo again changed these tables: {changed}"


def test_demo_market_is_realistic(app):
    demo.load(demo_mode=True, history=False)
    providers = db.session.execute(select(Provider)).scalars().all()
    assert len(providers) >= 40
    listed = db.session.execute(select(func.count(Service.id)).join(Provider).where(listed_services_filter())).scalar_one()
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


def test_every_demo_listing_says_who_it_supports_as_its_kind_of_support_would(app):
    demo.load(demo_mode=True, history=False)
    services = db.session.execute(select(Service)).scalars().all()
    assert services and all(s.people_supported for s in services), "every demo listing says who it supports"
    supported = Counter(group for s in services for group in s.people_supported)
    assert supported[PeopleGroup.OLDER_PEOPLE] > supported[PeopleGroup.AUTISM] > 0
    assert all(supported[g] > 0 for g in PeopleGroup if g is not PeopleGroup.EATING_DISORDERS)
    by_category: dict[str, list[Service]] = {}
    for s in services:
        by_category.setdefault(s.category.slug, []).append(s)
    assert all(PeopleGroup.DEMENTIA in s.people_supported for s in by_category["dementia-support"])
    assert all(PeopleGroup.LEARNING_DISABILITIES in s.people_supported for s in by_category["supported-living"])


def test_demo_prices_are_plausible_and_per_the_right_unit(app):
    demo.load(demo_mode=True, history=False)
    by_category: dict[str, list[tuple[str, PriceUnit, int]]] = {}
    for slug, title, unit, pence in db.session.execute(
        select(Category.slug, Service.title, Service.price_unit, Service.price_pence).join(Category)
    ):
        by_category.setdefault(slug, []).append((title, unit, pence))

    # Home care is mostly by the hour, at £20 to £30 an hour; welfare calls are by the
    # visit and live-in care by the week.
    home_care = by_category["home-care"]
    hourly = [pence for _, unit, pence in home_care if unit is PriceUnit.HOUR]
    assert len(hourly) > len(home_care) / 2
    assert all(2000 <= pence <= 3000 for pence in hourly)
    assert {unit for _, unit, _ in home_care} == {PriceUnit.HOUR, PriceUnit.VISIT, PriceUnit.WEEK}

    # Day opportunities are by the day (£40 to £90); only half-day sessions are by the session.
    days = by_category["day-opportunities"]
    assert all(unit is (PriceUnit.VISIT if title.startswith("Half-day") else PriceUnit.DAY) for title, unit, _ in days)
    per_day = [pence for _, unit, pence in days if unit is PriceUnit.DAY]
    assert len(per_day) > len(days) / 2 and all(4000 <= pence <= 9000 for pence in per_day)

    # Meals are by the meal (an item), £3 to £9.
    meals = by_category["meals"]
    assert meals and all(unit is PriceUnit.ITEM and 300 <= pence <= 900 for _, unit, pence in meals)


def test_demo_districts_are_peterborough_and_neighbours(app):
    demo.load(demo_mode=True, history=False)
    districts = {d.outward_code: d for d in db.session.execute(select(PostcodeDistrict)).scalars()}
    assert {f"PE{n}" for n in range(1, 9)} <= set(districts)
    pe1 = districts["PE1"]
    # Peterborough city centre to Stamford is about 12 miles; to Huntingdon about 18.
    assert 10 < miles_between(pe1.latitude, pe1.longitude, districts["PE9"].latitude, districts["PE9"].longitude) < 15
    assert 15 < miles_between(pe1.latitude, pe1.longitude, districts["PE29"].latitude, districts["PE29"].longitude) < 21


def test_demo_council_has_its_area_and_contact_details_and_keeps_a_commissioners_edits(app, client):
    from app.services import council

    demo.load(demo_mode=True, history=False)
    loaded = council.current()
    assert loaded.districts == tuple(f"PE{n}" for n in range(1, 9))
    assert loaded.contact_phone == "01632 960 418"  # Ofcom's drama range: nobody real is called
    page = client.get("/accessibility").get_data(as_text=True)
    assert "01632 960 418" in page and "adult.social.care@council.demo.test" in page

    from app.models import CouncilSettings

    db.session.get(CouncilSettings, 1).contact_phone = "01632 960 999"
    db.session.commit()
    demo.load(demo_mode=True, history=False)
    db.session.expire_all()
    assert council.current().contact_phone == "01632 960 999"


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
    from app.services import bookings, budgets, ledger_check
    from app.services.policy import current_policy

    demo.load(demo_mode=True, history=False)
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
    assert ledger_check.check() == []
    # History is dated in the past, and its notices were read long ago: a new demo session
    # starts with only what is still going on unread.
    from app.models import Notification
    from app.services import notifications

    done = [b for b in mine if b.status is BookingStatus.COMPLETED and b.request_key.startswith("demo-history")]
    assert done and all(b.created_at.date() < dt.date.today() - dt.timedelta(days=20) for b in done)
    old = db.session.execute(select(Notification).where(Notification.link == f"/bookings/{done[0].public_id}")).scalars().all()
    assert old and all(n.read_at is not None and n.created_at < n.created_at.now(n.created_at.tzinfo) - dt.timedelta(days=7) for n in old)
    for user in (margaret, joan, db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one()):
        assert notifications.unread_count(user) <= 5, (user.email, notifications.unread_count(user))


def test_every_demo_load_gives_provider_demo_visits_around_now_and_funds_this_period(app, monkeypatch):
    """Whatever day the demo starts, provider@demo.test has an accepted visit that has just
    started (record it as delivered at once) and one within the hour; the current period is
    paid into every budget. A load soon after finds them and books nothing more."""
    import datetime as dt

    from app.models import BookingStatus, BudgetPeriod, BudgetStatus, PersonalBudget, User
    from app.services import bookings, ledger_check
    from app.services.policy import current_policy
    from app.uk_time import UK, uk_today

    morning = dt.datetime.combine(uk_today(), dt.time(10, 40), tzinfo=UK).astimezone(dt.UTC)  # inside the service's hours
    monkeypatch.setattr("app.services.demo.today.utcnow", lambda: morning)
    demo.load(demo_mode=True, history=False)
    owner = db.session.execute(select(User).where(User.email == "provider@demo.test")).scalar_one()
    from app.services import accounts

    visits = [
        v
        for b in bookings.bookings_for_provider(accounts.provider_for_staff(owner))
        for v in b.visits
        if b.status is BookingStatus.ACCEPTED and abs(v.starts_at - morning) < dt.timedelta(hours=1)
    ]
    starts = sorted(v.starts_at.astimezone(UK).time() for v in visits)
    assert starts == [dt.time(10, 30), dt.time(10, 45)], starts
    started = next(v for v in visits if v.starts_at <= morning)
    bookings.record_delivery(started, by=owner, now=morning)  # can be recorded as soon as the demo starts
    period_start, _ = current_policy().period_containing(uk_today())
    # Every budget still running (the demo's history ends one or two during the year).
    budgets_now = db.session.execute(select(PersonalBudget).where(PersonalBudget.status == BudgetStatus.ACTIVE)).scalars().all()
    funded = {p.budget_id for p in db.session.execute(select(BudgetPeriod).where(BudgetPeriod.starts_on == period_start)).scalars()}
    assert {b.id for b in budgets_now} <= funded
    assert set(demo.load(demo_mode=True, history=False).created) == set()  # still within the hour: nothing more
    assert ledger_check.check() == []


def test_demo_council_has_published_its_market_position_and_set_reference_rates(app, client):
    from app.models import MarketPosition, ReferenceRate

    demo.load(demo_mode=True, history=False)
    statement = db.session.execute(select(MarketPosition)).scalar_one()
    assert statement.published_at is not None and len(statement.sections) == 5
    assert db.session.execute(select(func.count(ReferenceRate.id))).scalar_one() == 3
    page = client.get("/market-position").get_data(as_text=True)
    assert "Peterborough care market position" in page and "We need more home care in the rural districts" in page
    demo.load(demo_mode=True, history=False)
    assert db.session.execute(select(func.count(MarketPosition.id))).scalar_one() == 1


def test_demo_pays_providers_and_gives_the_visits_pages_something_to_show(app):
    """Past payment runs with remittances for provider@demo.test, one run ready for
    commissioner@demo.test to approve, everyone's bank details, and visits to record, not
    recorded after 48 hours, from an ECM file, outside the tolerance and disputed."""
    import datetime as dt

    from app.database import utcnow
    from app.models import BankAccountStatus, EcmUpload, ProviderBankAccount, ProviderStaff, RecordSource, RunStatus, User
    from app.services import council, delivery, ledger_check, payment_runs
    from app.uk_time import local_date, uk_today

    demo.load(demo_mode=True, history=False)
    people = {u.email: u for u in db.session.execute(select(User).where(User.email.like("%@demo.test"))).scalars()}
    commissioner, admin, owner = people["commissioner@demo.test"], people["admin@demo.test"], people["provider@demo.test"]
    provider_id = db.session.execute(select(ProviderStaff.provider_id).where(ProviderStaff.user_id == owner.id)).scalar_one()

    settings = council.current()
    assert settings.bank_sort_code and settings.bank_account_number and settings.bacs_user_number
    accounts = db.session.execute(select(ProviderBankAccount)).scalars().all()
    assert any(a.provider_id == provider_id and a.status is BankAccountStatus.CONFIRMED for a in accounts)
    [waiting] = [a for a in accounts if a.status is BankAccountStatus.PENDING]
    assert waiting.provider_id != provider_id

    # Margaret's three periods of history are paid (two runs approved); the latest period's
    # run waits for someone other than the admin who prepared it.
    *past, ready = payment_runs.all_runs()[::-1]
    assert len(past) == 2
    assert all(r.status is RunStatus.APPROVED and (r.prepared_by_id, r.approved_by_id) == (commissioner.id, admin.id) for r in past)
    assert all(local_date(r.prepared_at) < local_date(r.approved_at) < r.pay_date < uk_today() for r in past)
    assert len(payment_runs.paid_lines_for_provider(provider_id)) == 2  # remittances to read
    assert ready.status is RunStatus.PREPARED and ready.prepared_by_id == admin.id and ready.net_pence > 0
    assert (ready.starts_on, ready.ends_on) == payment_runs.latest_complete_period(uk_today())
    assert payment_runs.may_approve(ready, commissioner)

    # The provider's visits page has visits to record (one not recorded after 48 hours);
    # the commissioner has one visit outside the tolerance and one disputed to decide.
    now, today = utcnow(), uk_today()
    listed = delivery.provider_visits(provider_id, today - dt.timedelta(days=7), today)
    to_record = [v for v in listed if v.record is None and v.status.is_upcoming and v.starts_at <= now]
    assert len(to_record) >= 4, [(v.starts_at, v.status) for v in listed]
    [late] = delivery.unrecorded_visits(provider_id=provider_id)
    [outside] = delivery.open_exceptions()
    [disputed] = delivery.open_disputes()
    upload = db.session.execute(select(EcmUpload)).scalar_one()
    assert (upload.row_count, upload.recorded_count, delivery.waiting_for_council(upload)) == (3, 3, 1)
    assert outside.source is RecordSource.UPLOAD and outside.upload_id == upload.id
    assert disputed.visit.booking.citizen.email == "citizen@demo.test" and disputed.dispute_reason
    assert late.starts_at < now - delivery.UNRECORDED_AFTER
    assert ledger_check.check() == []

    # Loading again adds nothing; commissioner@demo.test approves the run ready to approve.
    assert set(demo.load(demo_mode=True, history=False).created) == set()
    assert payment_runs.approve(ready.id, by=commissioner).status is RunStatus.APPROVED
    assert ledger_check.check() == []
