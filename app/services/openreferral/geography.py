"""Which providers reach a postcode, and how far their bases are from it.

A provider reaches a postcode district when the district is one of its listed areas, is
within its radius of its base, or is its base. Distances run between district centroids
(the only places we hold), as on the search page, in metres as the profile counts them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import PostcodeDistrict, Provider, ProviderArea
from app.services.geo import miles_between

METRES_PER_MILE = 1609.344


@dataclass(frozen=True)
class Base:
    """A provider's base district (with its centroid, when we know it), radius and areas."""

    district: str | None
    latitude: float | None
    longitude: float | None
    radius_miles: int | None
    areas: frozenset[str]

    def metres_to(self, district: PostcodeDistrict) -> float | None:
        if self.latitude is None or self.longitude is None:
            return None
        return miles_between(self.latitude, self.longitude, district.latitude, district.longitude) * METRES_PER_MILE

    def reaches(self, district: PostcodeDistrict) -> bool:
        if district.outward_code in self.areas or district.outward_code == self.district:
            return True
        metres = self.metres_to(district)
        return bool(self.radius_miles) and metres is not None and metres <= self.radius_miles * METRES_PER_MILE


def bases(provider_ids: Iterable[int]) -> dict[int, Base]:
    """{provider id: its base} for the given providers."""
    wanted = sorted(set(provider_ids))
    if not wanted:
        return {}
    areas: dict[int, set[str]] = defaultdict(set)
    rows = db.session.execute(select(ProviderArea.provider_id, ProviderArea.outward_code).where(ProviderArea.provider_id.in_(wanted)))
    for provider_id, code in rows:
        areas[provider_id].add(code)
    places = db.session.execute(
        select(Provider.id, Provider.base_district, Provider.service_radius_miles, PostcodeDistrict.latitude, PostcodeDistrict.longitude)
        .outerjoin(PostcodeDistrict, PostcodeDistrict.outward_code == Provider.base_district)
        .where(Provider.id.in_(wanted))
    )
    return {
        row.id: Base(row.base_district, row.latitude, row.longitude, row.service_radius_miles, frozenset(areas[row.id])) for row in places
    }
