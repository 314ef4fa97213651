"""What is on the market: the published listings of verified providers, and where each
provider works (the districts it lists, and the districts whose centroid lies within its
service radius of its base district). The supply, price and quality reports count these."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select, true

from app.extensions import db
from app.models import (
    CouncilDistrict,
    FundingRoute,
    PostcodeDistrict,
    PriceUnit,
    Provider,
    ProviderArea,
    ProviderStatus,
    Service,
    ServiceStatus,
    WayOfPaying,
)
from app.services.geo import miles_between
from app.services.reports.filters import ReportFilter

# The funding route a listing must accept to be open to people paying each way.
ROUTE_FOR_WAY = {
    WayOfPaying.MANAGED: FundingRoute.PERSONAL_BUDGET,
    WayOfPaying.ISF: FundingRoute.PERSONAL_BUDGET,
    WayOfPaying.DIRECT_PAYMENT: FundingRoute.PREPAID_CARD,
    WayOfPaying.SELF_FUNDED: FundingRoute.SELF_FUNDER,
}

LISTED_NOTE = "Only published listings of verified providers count."


@dataclass(frozen=True)
class Listing:
    id: int
    provider_id: int
    category_id: int
    price_pence: int
    price_unit: PriceUnit
    capacity: int
    routes: frozenset[FundingRoute]


def listings(f: ReportFilter | None = None) -> list[Listing]:
    """Every published listing of a verified provider (of the filter's type of support)."""
    statement = (
        select(
            Service.id,
            Service.provider_id,
            Service.category_id,
            Service.price_pence,
            Service.price_unit,
            Service.capacity,
            Service.accepts_personal_budget,
            Service.accepts_prepaid_card,
            Service.accepts_self_funder,
        )
        .join(Provider, Provider.id == Service.provider_id)
        .where(Service.status == ServiceStatus.PUBLISHED, Provider.status == ProviderStatus.VERIFIED)
        .order_by(Service.id)
    )
    if f is not None and f.category is not None:
        statement = statement.where(Service.category_id == f.category.id)
    found = []
    for row in db.session.execute(statement):
        accepted = zip(FundingRoute, (row.accepts_personal_budget, row.accepts_prepaid_card, row.accepts_self_funder), strict=True)
        routes = frozenset(route for route, yes in accepted if yes)
        found.append(Listing(row.id, row.provider_id, row.category_id, row.price_pence, PriceUnit(row.price_unit), row.capacity, routes))
    return found


def council_districts() -> list[str]:
    return list(db.session.execute(select(CouncilDistrict.outward_code).order_by(CouncilDistrict.outward_code)).scalars())


def coverage(provider_ids: set[int] | None = None, *, verified_only: bool = True) -> dict[int, frozenset[str]]:
    """The districts each (verified) provider works in. A radius reaches the council's own
    districts (every known district when the council has named none)."""
    listed: dict[int, set[str]] = defaultdict(set)
    status = Provider.status == ProviderStatus.VERIFIED if verified_only else true()
    areas = select(ProviderArea.provider_id, ProviderArea.outward_code).join(Provider, Provider.id == ProviderArea.provider_id)
    for provider_id, code in db.session.execute(areas.where(status)):
        listed[provider_id].add(code)
    radii = db.session.execute(
        select(Provider.id, Provider.service_radius_miles, PostcodeDistrict.latitude, PostcodeDistrict.longitude)
        .join(PostcodeDistrict, PostcodeDistrict.outward_code == Provider.base_district)
        .where(status, Provider.service_radius_miles.is_not(None))
    ).all()
    if radii:
        reachable = _centroids()
        for provider_id, miles, lat, lon in radii:
            listed[provider_id].update(code for code, (c_lat, c_lon) in reachable.items() if miles_between(lat, lon, c_lat, c_lon) <= miles)
    wanted = listed.keys() if provider_ids is None else provider_ids & listed.keys()
    return {pid: frozenset(listed[pid]) for pid in wanted}


def _centroids() -> dict[str, tuple[float, float]]:
    statement = select(PostcodeDistrict.outward_code, PostcodeDistrict.latitude, PostcodeDistrict.longitude)
    own = statement.join(CouncilDistrict, CouncilDistrict.outward_code == PostcodeDistrict.outward_code)
    rows = db.session.execute(own).all() or db.session.execute(statement).all()
    return {code: (lat, lon) for code, lat, lon in rows}


def in_scope(f: ReportFilter) -> tuple[list[Listing], dict[int, frozenset[str]]]:
    """The listings the filter allows (its type of support, those working in its district,
    those open to its way of paying) and where each listing's provider works."""
    found = listings(f)
    cover = coverage({listing.provider_id for listing in found})
    if f.district:
        found = [listing for listing in found if f.district in cover.get(listing.provider_id, ())]
    if f.way is not None:
        found = [listing for listing in found if ROUTE_FOR_WAY[f.way] in listing.routes]
    return found, cover
