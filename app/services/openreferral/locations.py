"""Where a service is run from: its provider's base, as the profile's location.

Coordinates are the centroid of the base's postcode district (the only place we hold),
so a distance measured from them is a district-to-district distance, as on the search
page. The full postcode and street are published only when the provider's public page
shows its address; otherwise the location names the district alone.
"""

from __future__ import annotations

from app.models import Provider, Service
from app.services.openreferral import ids


def _place_name(provider: Provider) -> str:
    if provider.town and provider.base_district:
        return f"{provider.town} ({provider.base_district})"
    return provider.town or provider.base_district or ""


def _address(provider: Provider) -> dict | None:
    """address.json needs address_1, city, state_province, postal_code, country and address_type."""
    district = provider.district
    city = provider.town or (district.post_town if district else None)
    if not (provider.address_line1 and provider.base_postcode and city):
        return None
    address = {
        "id": ids.of("address", provider.id),
        "location_id": ids.location(provider.id),
        "address_1": provider.address_line1,
        "city": city,
        "state_province": district.local_authority if district else city,
        "postal_code": provider.base_postcode,
        "country": "GB",
        "address_type": "physical",
    }
    if provider.address_line2:
        address["address_2"] = provider.address_line2
    return address


def location(provider: Provider) -> dict:
    """location.json: only ``id`` is required."""
    place = _place_name(provider)
    body = {
        "id": ids.location(provider.id),
        "location_type": "physical",
        "name": f"{provider.name}, {place}" if place else provider.name,
        "description": f"Where {provider.name} is based" + (f": {place}." if place else "."),
    }
    if provider.district is not None:
        body["latitude"] = provider.district.latitude
        body["longitude"] = provider.district.longitude
    if provider.cqc_location_id:
        body["external_identifier"] = provider.cqc_location_id
        body["external_identifier_type"] = "CQC location ID"
    address = _address(provider)
    if address:
        body["addresses"] = [address]
    return body


def service_at_location(service: Service) -> dict:
    """service_at_location.json: only ``id`` is required; we link the service and its location too."""
    return {
        "id": ids.service_at_location(service.id),
        "service_id": ids.service(service.id),
        "location_id": ids.location(service.provider_id),
        "location": location(service.provider),
    }
