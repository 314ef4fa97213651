"""The demo area and market: postcode districts, the council's settings, its framework, and
the providers and listings of ``catalogue``."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    Category,
    CouncilDistrict,
    CouncilSettings,
    CQCRating,
    Framework,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    PeopleGroup,
    PostcodeDistrict,
    PriceUnit,
    Provider,
    ProviderArea,
    ProviderStatus,
    Service,
    ServiceHours,
    ServiceStatus,
)
from app.services import people_supported
from app.services.demo.catalogue import ANCHOR, build_market
from app.services.demo.places import COUNCIL_DISTRICTS, DISTRICTS
from app.services.demo.report import LoadReport
from app.services.geo import miles_between

FRAMEWORK_NAME = "Peterborough Care and Support Framework 2025 to 2029"
FRAMEWORK_LOTS = {
    # category slug: (lot name, quality weight, price weight, % of quality from reviews)
    "home-care": ("Home care", 60, 40, 20),
    "supported-living": ("Supported living", 60, 40, 0),
    "short-breaks": ("Short breaks and respite", 70, 30, 0),
    "day-opportunities": ("Day opportunities", 60, 40, 0),
    "dementia-support": ("Dementia support", 70, 30, 20),
}

# How many people a demo service can serve at once, by how it is priced.
DEMO_CAPACITY = {
    PriceUnit.HOUR: 6,
    PriceUnit.VISIT: 8,
    PriceUnit.DAY: 20,
    PriceUnit.NIGHT: 4,
    PriceUnit.WEEK: 10,
    PriceUnit.ITEM: 50,
}


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)


def load_places(report: LoadReport) -> None:
    """Postcode districts of Peterborough and neighbours"""
    existing = set(db.session.execute(select(PostcodeDistrict.outward_code)).scalars())
    for code, lat, lon, town, authority in DISTRICTS:
        if code not in existing:
            db.session.add(PostcodeDistrict(outward_code=code, latitude=lat, longitude=lon, post_town=town, local_authority=authority))
            report.add("postcode districts")


# The demo council's contact details. The phone number is in Ofcom's range kept for drama
# (01632 960xxx), so nobody real is called; the addresses are on the reserved .test domain.
DEMO_COUNCIL_CONTACT = {
    "contact_email": "adult.social.care@council.demo.test",
    "contact_phone": "01632 960 418",
    "address": "Adult Social Care, Town Hall, Bridge Street, Peterborough PE1 1HF",
    "website": "https://council.demo.test/adult-social-care",
}


def load_council(report: LoadReport) -> None:
    """The council's settings: its area and contact details"""
    if db.session.get(CouncilSettings, 1) is not None:
        return  # a commissioner's own settings are never overwritten
    db.session.add(
        CouncilSettings(
            id=1,
            name=current_app.config["COUNCIL_NAME"],
            cancellation_notice_hours=int(current_app.config["CANCELLATION_NOTICE_HOURS"]),
            **DEMO_COUNCIL_CONTACT,
        )
    )
    existing = set(db.session.execute(select(CouncilDistrict.outward_code)).scalars())
    for code in COUNCIL_DISTRICTS:
        if code not in existing:
            db.session.add(CouncilDistrict(outward_code=code))
    report.add("council settings")


def _distance_between(districts: dict[str, PostcodeDistrict]):
    def distance(a: str, b: str) -> float:
        da, dbb = districts[a], districts[b]
        return miles_between(da.latitude, da.longitude, dbb.latitude, dbb.longitude)

    return distance


def load_framework(report: LoadReport) -> None:
    """The council's framework and its lots"""
    framework = db.session.execute(select(Framework).where(Framework.name == FRAMEWORK_NAME)).scalar_one_or_none()
    if framework is None:
        framework = Framework(
            name=FRAMEWORK_NAME,
            description="The council's framework for regulated care and support. "
            "Providers on it passed the council's quality checks and agreed its prices and terms.",
            starts_on=dt.date(2025, 4, 1),
            ends_on=dt.date(2029, 3, 31),
        )
        db.session.add(framework)
        db.session.flush()
        report.add("frameworks")
    categories = {c.slug: c for c in db.session.execute(select(Category)).scalars()}
    existing = {lot.category_id for lot in framework.lots}
    for slug, (name, quality, price, reviews) in FRAMEWORK_LOTS.items():
        category = categories[slug]
        if category.id not in existing:
            framework.lots.append(
                FrameworkLot(category_id=category.id, name=name, quality_weight=quality, price_weight=price, review_weight=reviews)
            )
            report.add("framework lots")


def load_market(report: LoadReport) -> None:
    """Providers and their service listings"""
    districts = {d.outward_code: d for d in db.session.execute(select(PostcodeDistrict)).scalars()}
    categories = {c.slug: c for c in db.session.execute(select(Category)).scalars()}
    lots = {lot.category.slug: lot for lot in db.session.execute(select(FrameworkLot)).scalars()}
    market = build_market({code: d.post_town for code, d in districts.items()}, _distance_between(districts))

    existing_providers = {p.slug: p for p in db.session.execute(select(Provider)).scalars()}
    for spec in market:
        provider = existing_providers.get(spec.slug)
        if provider is None:
            provider = _create_provider(spec)
            report.add("providers")
        existing_titles = set(db.session.execute(select(Service.title).where(Service.provider_id == provider.id)).scalars())
        for service_spec in spec.services:
            if service_spec.title not in existing_titles:
                _create_service(provider, categories[service_spec.category], service_spec)
                report.add("services")
        for slug, status in [(s, MembershipStatus.APPROVED) for s in spec.framework_lots] + [
            (s, MembershipStatus.SUSPENDED) for s in spec.suspended_lots
        ]:
            lot = lots.get(slug)
            if lot is None:
                continue
            found = db.session.execute(
                select(FrameworkMembership).where(FrameworkMembership.lot_id == lot.id, FrameworkMembership.provider_id == provider.id)
            ).scalar_one_or_none()
            if found is None:
                db.session.add(
                    FrameworkMembership(
                        lot_id=lot.id,
                        provider_id=provider.id,
                        status=status,
                        reason=None
                        if status is MembershipStatus.APPROVED
                        else "Suspended after an Inadequate CQC rating, pending an improvement plan.",
                        decided_at=_noon(dt.date(2025, 4, 1) if status is MembershipStatus.APPROVED else ANCHOR - dt.timedelta(days=30)),
                    )
                )
                report.add("framework memberships")


def _rating(value: str | None) -> CQCRating | None:
    return CQCRating(value) if value else None


def _create_provider(spec) -> Provider:
    provider = Provider(
        slug=spec.slug,
        name=spec.name,
        legal_name=spec.legal_name,
        description=spec.description,
        email=spec.email,
        phone=spec.phone,
        website=spec.website,
        address_line1=spec.address_line1,
        town=spec.town,
        base_postcode=spec.base_postcode,
        base_district=spec.base_district,
        service_radius_miles=spec.radius_miles,
        cqc_provider_id=spec.cqc_provider_id,
        cqc_location_id=spec.cqc_location_id,
        cqc_overall=_rating(spec.ratings["overall"]),
        cqc_safe=_rating(spec.ratings["safe"]),
        cqc_effective=_rating(spec.ratings["effective"]),
        cqc_caring=_rating(spec.ratings["caring"]),
        cqc_responsive=_rating(spec.ratings["responsive"]),
        cqc_well_led=_rating(spec.ratings["well_led"]),
        cqc_inspection_date=spec.inspection_date,
        status=ProviderStatus(spec.status),
        created_at=_noon(dt.date(2025, 3, 1)),
        updated_at=_noon(dt.date(2025, 3, 1)),
    )
    provider.areas = [ProviderArea(outward_code=code) for code in spec.areas]
    db.session.add(provider)
    db.session.flush()
    return provider


def _create_service(provider: Provider, category: Category, spec) -> Service:
    status = ServiceStatus(spec.status)
    updated = _noon(spec.updated_on)
    service = Service(
        provider_id=provider.id,
        category_id=category.id,
        title=spec.title,
        description=spec.description,
        price_pence=spec.price_pence,
        price_unit=PriceUnit(spec.unit),
        min_units=spec.min_units,
        accepts_personal_budget=spec.funding[0],
        accepts_prepaid_card=spec.funding[1],
        accepts_self_funder=spec.funding[2],
        availability_note=spec.availability_note,
        capacity=DEMO_CAPACITY[PriceUnit(spec.unit)],
        status=status,
        published_at=None if status is ServiceStatus.DRAFT else updated,
        created_at=updated,
        updated_at=updated,
    )
    service.hours = [
        ServiceHours(weekday=day, opens_at=dt.time.fromisoformat(opens), closes_at=dt.time.fromisoformat(closes))
        for day, opens, closes in spec.hours
    ]
    people_supported.declare(service, [PeopleGroup(value) for value in spec.supports], at=updated)
    db.session.add(service)
    return service
