"""Stable ids for the Open Referral UK feed.

The profile wants every object to carry a UUID. Ours are derived, never stored: a UUID
version 5 of one fixed namespace and a name such as ``service:42`` or
``taxonomy_term:home-care``. The same row always gets the same id, on every request, on
every host and after the search index is rebuilt, and no migration is needed. A UUID
cannot be turned back into a row id, so finding a service by its UUID means comparing it
with the UUIDs of the services that are listed (cheap: the names are cached).
"""

from __future__ import annotations

import functools
import uuid

# Fixed for ever: changing it would change every id other councils and developers hold.
NAMESPACE = uuid.UUID("01cac46b-c0c9-43d0-95c7-501321414f5b")


@functools.lru_cache(maxsize=65_536)
def of(kind: str, *parts: object) -> str:
    """The UUID, as text, of the object ``kind`` named by ``parts`` (``of("service", 42)``)."""
    return str(uuid.uuid5(NAMESPACE, ":".join([kind, *(str(part) for part in parts)])))


def service(service_id: int) -> str:
    return of("service", service_id)


def organization(provider_id: int) -> str:
    return of("organization", provider_id)


def location(provider_id: int) -> str:
    """A provider's base: the one place each of its services is run from."""
    return of("location", provider_id)


def service_at_location(service_id: int) -> str:
    return of("service_at_location", service_id)


def taxonomy(key: str) -> str:
    return of("taxonomy", key)


def taxonomy_term(key: str) -> str:
    return of("taxonomy_term", key)


def parse(text: str | None) -> str | None:
    """``text`` as a UUID in its usual lower-case form, or None when it is not a UUID."""
    try:
        return str(uuid.UUID((text or "").strip()))
    except ValueError:
        return None
