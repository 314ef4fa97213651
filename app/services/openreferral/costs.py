"""What a service costs: its price per unit, in pounds, as the profile's cost option."""

from __future__ import annotations

from app.models import Service
from app.services.openreferral import ids
from app.services.openreferral.links import Links


def amount_description(service: Service) -> str:
    """'per hour', or 'per visit, at least 2 visits'."""
    unit = service.price_unit.value
    least = f", at least {service.min_units} {unit}s" if service.min_units > 1 else ""
    return f"per {unit}{least}"


def cost_options(service: Service, links: Links) -> list[dict]:
    """cost_option.json: ``id`` is required (and, in the profile's own file, ``url``). Money
    is integer pence everywhere else; here it is pounds, as the profile's ``amount`` is."""
    ways = ", ".join(route.label.lower() for route in service.funding_routes)
    return [
        {
            "id": ids.of("cost_option", service.id),
            "service_id": ids.service(service.id),
            "amount": service.price_pence / 100,
            "currency": "GBP",
            "amount_description": amount_description(service),
            "option": f"Ways to pay: {ways}",
            "url": links.service(service.id),
        }
    ]
