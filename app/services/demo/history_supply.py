"""How supply changed over the demo's year: a provider that joined (signed up, verified by
the council and its listings published, each dated then), one that left (its upcoming
visits handed back and the provider suspended), prices that crept up, and listings
withdrawn or added in various months. Every change goes through the service a provider
or commissioner would use, dated when it happened."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Booking,
    BookingStatus,
    Category,
    OrgRole,
    PeopleGroup,
    PriceUnit,
    Provider,
    ProviderArea,
    ProviderStaff,
    ProviderStatus,
    Role,
    Service,
    ServiceHours,
    ServiceStatus,
    User,
)
from app.services import bookings, listings, people_supported, verification
from app.services.demo.accounts import owner_email
from app.services.demo.places import COUNCIL_DISTRICTS
from app.services.errors import DomainError

JOINER_SLUG = "hampton-vale-home-care"
LEAVING_REASON = (
    "The provider closed its Peterborough branch and handed back its care packages; "
    "the council suspended it from the marketplace so nobody books it by mistake."
)
# The joiner's listings: (category, title, price in pence, unit, who it supports)
JOINER_SERVICES = (
    (
        "home-care",
        "Home care visits across Hampton and the south of the city",
        2640,
        PriceUnit.HOUR,
        (PeopleGroup.OLDER_PEOPLE, PeopleGroup.YOUNGER_ADULTS, PeopleGroup.PHYSICAL_DISABILITIES),
    ),
    (
        "dementia-support",
        "Dementia care at home from a small, regular team",
        2790,
        PriceUnit.HOUR,
        (PeopleGroup.OLDER_PEOPLE, PeopleGroup.DEMENTIA, PeopleGroup.END_OF_LIFE),
    ),
    ("befriending", "A weekly visit and a chat, or help getting out", 1150, PriceUnit.VISIT, (PeopleGroup.OLDER_PEOPLE,)),
)
# Prices the demo market keeps within (its own tests say so): a rise that would cross one is skipped.
CEILINGS = {("home-care", PriceUnit.HOUR): 3000, ("day-opportunities", PriceUnit.DAY): 9000, ("meals", PriceUnit.ITEM): 900}


def owner_of(provider: Provider) -> User | None:
    """The provider's owner: who answers requests, records visits and edits listings here."""
    staff = db.session.execute(
        select(ProviderStaff.user_id)
        .where(ProviderStaff.provider_id == provider.id, ProviderStaff.org_role == OrgRole.OWNER)
        .order_by(ProviderStaff.id)
    ).first()
    return db.session.get(User, staff[0]) if staff else None


def choose_leaver(keep: set[int]) -> Provider | None:
    """A verified home care provider in the council's area, not one the demo accounts use."""
    services = db.session.execute(
        select(Service)
        .join(Category, Category.id == Service.category_id)
        .join(Provider, Provider.id == Service.provider_id)
        .where(
            Category.slug == "home-care",
            Service.price_unit == PriceUnit.HOUR,
            Service.status == ServiceStatus.PUBLISHED,
            Provider.status == ProviderStatus.VERIFIED,
            Service.accepts_personal_budget.is_(True),
        )
        .order_by(Provider.slug, Service.id)
    ).scalars()
    providers = {s.provider_id: s.provider for s in services if s.provider_id not in keep}
    # The one covering most of the council's districts: its leaving is felt.
    ranked = sorted(providers.values(), key=lambda p: (-len({a.outward_code for a in p.areas} & set(COUNCIL_DISTRICTS)), p.slug))
    return ranked[0] if ranked else None


def add_joiner(signed_up: dt.datetime, password_hash: str | None) -> Provider:
    """The provider that joins during the year, as it signed up: pending, listings in draft."""
    provider = Provider(
        slug=JOINER_SLUG,
        name="Hampton Vale Home Care",
        legal_name="Hampton Vale Home Care Ltd",
        description="A new, locally owned home care agency in Hampton. Small teams, so people see the same faces.",
        email="hello@hampton-vale.demo.test",
        phone="01632 960 771",
        website="https://hampton-vale.demo.test",
        address_line1="4 Serpentine Green",
        town="Peterborough",
        base_postcode="PE7 8BE",
        base_district="PE7",
        status=ProviderStatus.PENDING,
        created_at=signed_up,
        updated_at=signed_up,
    )
    provider.areas = [ProviderArea(outward_code=code) for code in ("PE1", "PE2", "PE3", "PE7")]
    db.session.add(provider)
    db.session.flush()
    owner = User(email=owner_email(provider), name="Joy Okonkwo", role=Role.PROVIDER, password_hash=password_hash, created_at=signed_up)
    db.session.add(owner)
    db.session.flush()
    db.session.add(ProviderStaff(provider_id=provider.id, user_id=owner.id, org_role=OrgRole.OWNER))
    categories = {c.slug: c.id for c in db.session.execute(select(Category)).scalars()}
    for slug, title, price, unit, groups in JOINER_SERVICES:
        service = Service(
            provider_id=provider.id,
            category_id=categories[slug],
            title=title,
            description=f"{title}. We agree a regular time with you and keep to it.",
            price_pence=price,
            price_unit=unit,
            min_units=1,
            accepts_personal_budget=True,
            accepts_prepaid_card=True,
            accepts_self_funder=True,
            availability_note="Seven days a week, 7am to 9pm",
            capacity=6,
            status=ServiceStatus.DRAFT,
            created_at=signed_up,
            updated_at=signed_up,
        )
        service.hours = [ServiceHours(weekday=day, opens_at=dt.time(7), closes_at=dt.time(21)) for day in range(7)]
        people_supported.declare(service, groups, at=signed_up)
        db.session.add(service)
    db.session.commit()
    return provider


def join(provider: Provider, commissioner: User, now: dt.datetime) -> None:
    """The council verifies the joiner, and it publishes its listings the same afternoon."""
    verification.verify(commissioner, provider, regulated=True, cqc_provider_id="1-1027740311", cqc_location_id="1-1027740322", now=now)
    owner = owner_of(provider)
    for service in list(provider.services):
        listings.publish(owner, service, now=now + dt.timedelta(hours=3))


def leave(provider: Provider, commissioner: User, policy, now: dt.datetime) -> list[Booking]:
    """The leaving provider cancels its upcoming visits (in good time), then the council
    suspends it. Returns the bookings it cancelled, whose people need someone else."""
    owner = owner_of(provider)
    cancelled = []
    open_bookings = db.session.execute(
        select(Booking).where(Booking.provider_id == provider.id, Booking.status.in_([BookingStatus.REQUESTED, BookingStatus.ACCEPTED]))
    ).scalars()
    for booking in list(open_bookings):
        try:
            if booking.status is BookingStatus.REQUESTED:
                bookings.decline(booking, by=owner, reason="We are closing our Peterborough branch and cannot take new work", now=now)
            else:
                bookings.cancel(booking, by=owner, policy=policy, now=now)
            cancelled.append(booking)
        except DomainError:
            db.session.rollback()
    verification.suspend(commissioner, db.session.get(Provider, provider.id), LEAVING_REASON, now=now + dt.timedelta(days=2))
    return cancelled


def raise_prices(rng: random.Random, keep: set[int], share: float, now: dt.datetime, *, home_care: float | None = None) -> int:
    """Providers put up some prices by 3 to 6 per cent (bookings made later pay more):
    ``share`` of the listings, or ``home_care`` of home care's."""
    raised = 0
    services = db.session.execute(
        select(Service).where(Service.status == ServiceStatus.PUBLISHED, Service.provider_id.notin_(keep)).order_by(Service.id)
    ).scalars()
    for service in list(services):
        if rng.random() >= (home_care if home_care is not None and service.category.slug == "home-care" else share):
            continue
        price = service.price_pence * (1000 + rng.randint(30, 60)) // 1000
        if price > CEILINGS.get((service.category.slug, service.price_unit), price):
            continue
        owner = owner_of(service.provider)
        data = listings.listing_input(service)
        data.price = listings.price_text(price)
        try:
            listings.update(owner, service, data, now=now + dt.timedelta(minutes=raised))
            raised += 1
        except DomainError:
            db.session.rollback()
    return raised


def withdraw_some(rng: random.Random, keep: set[int], count: int, now: dt.datetime) -> int:
    """A few listings withdrawn (a service stopped, a day centre closed)."""
    services = db.session.execute(
        select(Service)
        .join(Provider, Provider.id == Service.provider_id)
        .where(Service.status == ServiceStatus.PUBLISHED, Service.provider_id.notin_(keep), Provider.status == ProviderStatus.VERIFIED)
        .order_by(Service.id)
    ).scalars()
    chosen = rng.sample(list(services), count)
    for service in chosen:
        listings.withdraw(owner_of(service.provider), service, now=now)
    return len(chosen)
