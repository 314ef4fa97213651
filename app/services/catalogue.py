"""What the public can see: published listings of verified providers.

Every public page goes through these functions, so "is this visible?" is decided once.
Unknown, draft, withdrawn or unverified things raise ``NotFound``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import (
    Category,
    FrameworkLot,
    FrameworkMembership,
    MembershipStatus,
    Provider,
    ProviderStatus,
    Service,
    ServiceStatus,
)
from app.services.errors import NotFound
from app.services.pagination import Page, paginate

PER_PAGE = 20


def listed_services_filter():
    """The condition for a service to be visible to the public."""
    return and_(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED)


@dataclass(frozen=True)
class CategoryCount:
    category: Category
    count: int


def categories_with_counts() -> list[CategoryCount]:
    """Every category, in taxonomy order, with how many listed services it has."""
    counts = dict(
        db.session.execute(
            select(Service.category_id, func.count(Service.id))
            .join(Provider, Service.provider_id == Provider.id)
            .where(listed_services_filter())
            .group_by(Service.category_id)
        ).all()
    )
    categories = db.session.execute(select(Category).order_by(Category.position, Category.name)).scalars()
    return [CategoryCount(c, counts.get(c.id, 0)) for c in categories]


def categories() -> list[Category]:
    """Every type of support, in the council's order."""
    return list(db.session.execute(select(Category).order_by(Category.position, Category.name)).scalars())


def category_by_slug(slug: str) -> Category:
    category = db.session.execute(select(Category).where(Category.slug == slug)).scalar_one_or_none()
    if category is None:
        raise NotFound(f"No category {slug!r}")
    return category


def listed_services_in_category(category: Category, page: int = 1, per_page: int = PER_PAGE) -> Page[Service]:
    query = (
        select(Service)
        .join(Provider, Service.provider_id == Provider.id)
        .where(listed_services_filter(), Service.category_id == category.id)
        .options(selectinload(Service.hours))
        .order_by(Service.title, Service.id)
    )
    return paginate(query, page, per_page)


def get_listed_service(service_id: int) -> Service:
    service = (
        db.session.execute(
            select(Service)
            .join(Provider, Service.provider_id == Provider.id)
            .where(Service.id == service_id, listed_services_filter())
            .options(selectinload(Service.hours))
        )
        .unique()
        .scalar_one_or_none()
    )
    if service is None:
        raise NotFound(f"No listed service {service_id}")
    return service


def get_listed_provider(provider_id: int) -> Provider:
    provider = db.session.get(Provider, provider_id)
    if provider is None or provider.status is not ProviderStatus.VERIFIED:
        raise NotFound(f"No listed provider {provider_id}")
    return provider


def providers_by_id(ids) -> dict[int, Provider]:
    ids = list(ids)
    if not ids:
        return {}
    return {p.id: p for p in db.session.execute(select(Provider).where(Provider.id.in_(ids))).scalars()}


def services_by_id(ids) -> dict[int, Service]:
    """{id: service} for the given ids (their providers loaded with them)."""
    ids = list(ids)
    if not ids:
        return {}
    return {s.id: s for s in db.session.execute(select(Service).where(Service.id.in_(ids))).scalars()}


def listed_services_of(provider: Provider) -> list[Service]:
    return list(
        db.session.execute(
            select(Service)
            .where(Service.provider_id == provider.id, Service.status == ServiceStatus.PUBLISHED)
            .order_by(Service.title, Service.id)
        ).scalars()
    )


@dataclass(frozen=True)
class FrameworkStatus:
    """Where a provider stands on the framework lot for one category."""

    lot: FrameworkLot | None
    membership: FrameworkMembership | None

    @property
    def on_framework(self) -> bool:
        return self.membership is not None and self.membership.status is MembershipStatus.APPROVED

    @property
    def suspended(self) -> bool:
        return self.membership is not None and self.membership.status is MembershipStatus.SUSPENDED


def framework_status(provider: Provider, category: Category) -> FrameworkStatus:
    lot = (
        db.session.execute(select(FrameworkLot).where(FrameworkLot.category_id == category.id).order_by(FrameworkLot.id)).scalars().first()
    )
    if lot is None:
        return FrameworkStatus(None, None)
    membership = db.session.execute(
        select(FrameworkMembership).where(FrameworkMembership.lot_id == lot.id, FrameworkMembership.provider_id == provider.id)
    ).scalar_one_or_none()
    return FrameworkStatus(lot, membership)


def approved_lots(provider: Provider) -> list[FrameworkLot]:
    return list(
        db.session.execute(
            select(FrameworkLot)
            .join(FrameworkMembership, FrameworkMembership.lot_id == FrameworkLot.id)
            .where(
                FrameworkMembership.provider_id == provider.id,
                FrameworkMembership.status == MembershipStatus.APPROVED,
            )
            .order_by(FrameworkLot.name)
        ).scalars()
    )
