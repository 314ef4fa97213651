"""Factory fixtures: each returns a callable that creates one object with sensible
defaults, overridable by keyword. Objects are committed so pages and other sessions see them."""

from __future__ import annotations

import datetime as dt
import functools
import itertools

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Category,
    CitizenFunding,
    CQCRating,
    Framework,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    OrgRole,
    PostcodeDistrict,
    PriceUnit,
    Provider,
    ProviderArea,
    ProviderStaff,
    ProviderStatus,
    Representation,
    Role,
    Service,
    ServiceHours,
    ServiceStatus,
    User,
)

_counter = itertools.count(1)

DEFAULT_DISTRICTS = {
    "PE1": (52.5880, -0.2290, "Peterborough"),
    "PE2": (52.5560, -0.2590, "Peterborough"),
    "PE3": (52.5900, -0.2900, "Peterborough"),
    "PE9": (52.6600, -0.4800, "Stamford"),
    "PE29": (52.3300, -0.1800, "Huntingdon"),
}


@pytest.fixture
def category(app):
    def get(slug: str = "home-care") -> Category:
        return db.session.execute(select(Category).where(Category.slug == slug)).scalar_one()

    return get


@pytest.fixture
def make_district(app):
    def make(code: str = "PE1", lat: float | None = None, lon: float | None = None, town: str | None = None) -> PostcodeDistrict:
        existing = db.session.get(PostcodeDistrict, code)
        if existing:
            return existing
        d_lat, d_lon, d_town = DEFAULT_DISTRICTS.get(code, (52.5, -0.25, "Peterborough"))
        district = PostcodeDistrict(
            outward_code=code,
            latitude=lat if lat is not None else d_lat,
            longitude=lon if lon is not None else d_lon,
            post_town=town or d_town,
            local_authority="Peterborough",
        )
        db.session.add(district)
        db.session.commit()
        return district

    return make


@pytest.fixture
def make_provider(app, make_district):
    def make(**overrides) -> Provider:
        n = next(_counter)
        base = overrides.pop("base_district", "PE1")
        make_district(base)
        areas = overrides.pop("areas", [base])
        for code in areas:
            make_district(code)
        rating = overrides.pop("rating", CQCRating.GOOD)
        fields = {
            "slug": f"provider-{n}",
            "name": f"Test Provider {n}",
            "legal_name": f"Test Provider {n} Ltd",
            "description": "A test provider.",
            "email": f"hello{n}@provider.example",
            "phone": "01733 000000",
            "town": "Peterborough",
            "base_postcode": f"{base} 1AA",
            "base_district": base,
            "cqc_location_id": f"1-{n:09d}",
            "cqc_provider_id": f"1-{n + 500000:09d}",
            "cqc_overall": rating,
            "cqc_safe": rating,
            "cqc_effective": rating,
            "cqc_caring": rating,
            "cqc_responsive": rating,
            "cqc_well_led": rating,
            "cqc_inspection_date": dt.date(2026, 5, 4) if rating else None,
            "status": ProviderStatus.VERIFIED,
        }
        fields.update(overrides)
        provider = Provider(**fields)
        provider.areas = [ProviderArea(outward_code=code) for code in areas]
        db.session.add(provider)
        db.session.commit()
        return provider

    return make


@pytest.fixture
def make_service(app, make_provider, category):
    def make(**overrides) -> Service:
        provider = overrides.pop("provider", None) or make_provider()
        cat = overrides.pop("category", None) or category("home-care")
        if isinstance(cat, str):
            cat = category(cat)
        hours = overrides.pop("hours", [(d, "08:00", "20:00") for d in range(7)])
        status = overrides.pop("status", ServiceStatus.PUBLISHED)
        fields = {
            "provider_id": provider.id,
            "category_id": cat.id,
            "title": f"Test service {next(_counter)}",
            "description": "Help at home.",
            "price_pence": 2400,
            "price_unit": PriceUnit.HOUR,
            "min_units": 1,
            "status": status,
            "published_at": dt.datetime(2026, 6, 1, tzinfo=dt.UTC) if status is not ServiceStatus.DRAFT else None,
        }
        fields.update(overrides)
        service = Service(**fields)
        service.hours = [
            ServiceHours(weekday=d, opens_at=dt.time.fromisoformat(o), closes_at=dt.time.fromisoformat(c)) for d, o, c in hours
        ]
        db.session.add(service)
        db.session.commit()
        return service

    return make


@pytest.fixture
def make_lot(app, category):
    def make(category_slug: str = "home-care", quality_weight: int = 60, price_weight: int = 40, name: str | None = None) -> FrameworkLot:
        framework = db.session.execute(select(Framework)).scalars().first()
        if framework is None:
            framework = Framework(name="Test framework", starts_on=dt.date(2025, 4, 1))
            db.session.add(framework)
            db.session.flush()
        cat = category(category_slug)
        lot = FrameworkLot(
            framework_id=framework.id,
            category_id=cat.id,
            name=name or cat.name,
            quality_weight=quality_weight,
            price_weight=price_weight,
        )
        db.session.add(lot)
        db.session.commit()
        return lot

    return make


@pytest.fixture
def make_membership(app):
    def make(
        lot: FrameworkLot, provider: Provider, status: MembershipStatus = MembershipStatus.APPROVED, reason: str | None = None
    ) -> FrameworkMembership:
        membership = FrameworkMembership(lot_id=lot.id, provider_id=provider.id, status=status, reason=reason)
        db.session.add(membership)
        db.session.commit()
        return membership

    return make


# Every factory-made account has this password unless told otherwise.
DEFAULT_PASSWORD = "correct-horse-battery-staple"


@functools.lru_cache(maxsize=8)
def _password_hash(password: str) -> str:
    # argon2id is slow on purpose; tests reuse one hash per password.
    from app.services.passwords import hash_password

    return hash_password(password)


@pytest.fixture
def make_user(app):
    """make_user(role=Role.CITIZEN, password=DEFAULT_PASSWORD, **columns) -> User.
    ``password=None`` makes an account with no password."""

    def make(role: Role = Role.CITIZEN, password: str | None = DEFAULT_PASSWORD, **overrides) -> User:
        n = next(_counter)
        fields = {
            "email": f"{role.value}{n}@example.test",
            "name": f"Test {role.label} {n}",
            "role": role,
            "password_hash": _password_hash(password) if password is not None else None,
        }
        fields.update(overrides)
        user = User(**fields)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def policy(app):
    from app.services.policy import current_policy

    return current_policy()


@pytest.fixture
def make_budget(app, make_user, policy):
    """A personal budget for a citizen, funded for one period by default (and ``periods``
    - 1 more after it): the current period, or the next one when less than a week of the
    current one is left (``money_helpers.funded_period``), so tests can book the coming days."""
    from app.models import BudgetType
    from app.services import budgets
    from app.services.ledger import Actor

    def make(
        citizen: User | None = None,
        amount: int = 50_000,
        budget_type=BudgetType.MANAGED_ACCOUNT,
        isf_provider=None,
        outcomes=("Get out to the shops each week", "Stay safe and well at home"),
        periods: int = 1,
        starts_on: dt.date | None = None,
    ):
        from tests.services.money_helpers import funded_period, today

        citizen = citizen or make_user(Role.CITIZEN)
        start, _ = funded_period(policy)
        budget = budgets.create_budget(
            citizen=citizen,
            budget_type=budget_type,
            amount_per_period_pence=amount,
            starts_on=starts_on or start,
            outcomes=list(outcomes),
            created_by=None,
            policy=policy,
            isf_provider=isf_provider,
        )
        if start > today() and starts_on is None:
            budgets.fund_budget(budget, start, policy=policy, actor=Actor.system("test"))  # it starts in the next period
        for n in range(1, periods):
            budgets.fund_budget(budget, start + dt.timedelta(days=28 * n), policy=policy, actor=Actor.system("test"))
        return db.session.get(type(budget), budget.id)

    return make


@pytest.fixture
def make_citizen(make_user):
    def make(**overrides) -> User:
        overrides.setdefault("citizen_funding", CitizenFunding.PERSONAL_BUDGET)
        return make_user(Role.CITIZEN, **overrides)

    return make


@pytest.fixture
def make_representative(make_user):
    """make_representative(citizen, relationship="daughter") -> a representative acting for ``citizen``."""

    def make(citizen: User | None = None, relationship: str = "daughter", **overrides) -> User:
        rep = make_user(Role.REPRESENTATIVE, **overrides)
        if citizen is not None:
            db.session.add(Representation(citizen_id=citizen.id, representative_id=rep.id, relationship_to_citizen=relationship))
            db.session.commit()
        return rep

    return make


@pytest.fixture
def make_provider_staff(make_user, make_provider):
    """make_provider_staff(provider=None, org_role=OrgRole.OWNER) -> a provider-staff user."""

    def make(provider: Provider | None = None, org_role: OrgRole = OrgRole.OWNER, **overrides) -> User:
        provider = provider or make_provider()
        user = make_user(Role.PROVIDER, **overrides)
        db.session.add(ProviderStaff(provider_id=provider.id, user_id=user.id, org_role=org_role))
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_commissioner(make_user):
    def make(**overrides) -> User:
        return make_user(Role.COMMISSIONER, **overrides)

    return make


@pytest.fixture
def make_admin(make_user):
    def make(**overrides) -> User:
        return make_user(Role.ADMIN, **overrides)

    return make


@pytest.fixture
def login(app):
    """login(client, user, password=DEFAULT_PASSWORD): sign in through the real form
    (with its CSRF token), answering the two-step question when the account has it."""
    from tests.helpers import sign_in

    return sign_in
