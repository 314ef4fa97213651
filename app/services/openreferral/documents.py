"""A listed service as the profile's service object: brief in lists (service_list.json:
its own fields and its organization), fully nested on its own (compiled/service.json).

Every listed service is ``active``: drafts, withdrawn services and the services of
providers that are not verified are never written out at all.
"""

from __future__ import annotations

import datetime as dt

from app.models import Service
from app.services.openreferral import ids
from app.services.openreferral.attributes import attributes
from app.services.openreferral.costs import cost_options
from app.services.openreferral.links import Links
from app.services.openreferral.locations import service_at_location
from app.services.openreferral.organizations import contacts, organization
from app.services.openreferral.schedules import schedules
from app.services.openreferral.service_areas import service_areas


def timestamp(moment: dt.datetime) -> str:
    """'2026-06-01T09:30:00.123Z': UTC with milliseconds, as the profile asks."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def last_modified(service: Service) -> dt.datetime:
    """When the service, or its provider's details it carries, last changed."""
    return max(service.updated_at, service.provider.updated_at)


def brief(service: Service, links: Links) -> dict:
    """service_list.json: ``id``, ``name``, ``status`` and ``url`` are required."""
    provider = service.provider
    body = {
        "id": ids.service(service.id),
        "organization_id": ids.organization(provider.id),
        "name": service.title,
        "description": service.description,
        "url": links.service(service.id),
        "status": "active",
        "last_modified": timestamp(last_modified(service)),
        "organization": organization(provider, links),
    }
    if provider.email:
        body["email"] = provider.email
    return body


def full(service: Service, links: Links) -> dict:
    """compiled/service.json: the service with everything about it nested inside."""
    return {
        **brief(service, links),
        "schedules": schedules(service, links),
        "service_areas": service_areas(service),
        "service_at_locations": [service_at_location(service)],
        "cost_options": cost_options(service, links),
        "contacts": contacts(service, links),
        "attributes": attributes(service, links),
    }
