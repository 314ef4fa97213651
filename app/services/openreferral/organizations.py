"""A provider as the profile's organization, and how to contact it.

Only what the provider's public page already shows is published: its name, registered
name, description, email, telephone and website. Nothing about its team, its bank or its
standing with the council.
"""

from __future__ import annotations

from app.models import Provider, Service
from app.services.openreferral import ids
from app.services.openreferral.links import Links


def organization(provider: Provider, links: Links) -> dict:
    """organization.json: id, name and description are required."""
    body = {
        "id": ids.organization(provider.id),
        "name": provider.name,
        "description": provider.description or provider.name,
        "uri": links.provider(provider.id),
    }
    if provider.legal_name and provider.legal_name != provider.name:
        body["alternate_name"] = provider.legal_name
    if provider.email:
        body["email"] = provider.email
    if provider.website:
        body["website"] = provider.website
    return body


def contacts(service: Service, links: Links) -> list[dict]:
    """The provider's published email and telephone, as a contact for the service
    (contact.json and phone.json; the profile asks each for a ``url``: the service's page)."""
    provider = service.provider
    if not (provider.email or provider.phone):
        return []
    contact_id = ids.of("contact", service.id)
    contact = {
        "id": contact_id,
        "service_id": ids.service(service.id),
        "name": provider.name,
        "title": "Care provider",
        "url": links.service(service.id),
    }
    if provider.email:
        contact["email"] = provider.email
    if provider.phone:
        contact["phones"] = [
            {"id": ids.of("phone", service.id), "contact_id": contact_id, "number": provider.phone, "url": links.service(service.id)}
        ]
    return [contact]
