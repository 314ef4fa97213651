"""Where a service reaches people: its provider's listed postcode districts and radius,
in the same words as the "Areas served" line of the service's page."""

from __future__ import annotations

from app.models import Service
from app.services.openreferral import ids


def _area(service: Service, key: str, name: str, text: str) -> dict:
    """service_area.json: only ``id`` is required."""
    return {
        "id": ids.of("service_area", service.id, key),
        "service_id": ids.service(service.id),
        "name": name,
        "service_area": text,
        "extent_type": "text",
    }


def service_areas(service: Service) -> list[dict]:
    provider = service.provider
    areas = [_area(service, code, code, f"Postcode district {code}") for code in provider.area_codes]
    if provider.service_radius_miles and provider.base_district:
        miles = provider.service_radius_miles
        text = f"Anywhere within {miles} mile{'' if miles == 1 else 's'} of {provider.base_district}"
        areas.append(_area(service, "radius", text, text))
    if not areas:
        base = provider.town or provider.base_district or provider.name
        areas.append(_area(service, "base", base, f"At their base in {base}"))
    return areas
