"""The Open Referral UK feed: our listed services in the Human Services Data Specification
3.0, as the UK profile shapes it, for other councils and developers.

The modules, from the ground up:

* ``ids``: stable UUIDs derived from our row ids (nothing stored, no migration).
* ``links``: absolute links to our pages, always on PUBLIC_BASE_URL.
* ``taxonomy``: the two taxonomies (types of support, CQC overall rating) and their terms.
* ``schedules``, ``service_areas``, ``costs``, ``organizations``, ``locations``,
  ``attributes``: one part of a service each, in the profile's shape.
* ``documents``: a service brief (in lists) and fully nested (on its own).
* ``params``: the query string, parsed; every bad parameter named at once.
* ``geography``: which providers reach a postcode, and how far their bases are from it.
* ``selection``: which listed services a list answers, a page at a time, counted exactly.
* ``pages``: the profile's page object.
* ``feed``: what each resource answers, with when its data last changed.
"""

from __future__ import annotations

from app.services.facade import seal
from app.services.openreferral import ids
from app.services.openreferral.feed import (
    HSDS_VERSION,
    Answer,
    api_details,
    newest_change,
    service,
    service_at_locations,
    services,
    taxonomies,
    taxonomy_terms,
)
from app.services.openreferral.params import PARAMETERS, paging, service_filters, term_filter

__all__ = [
    "HSDS_VERSION",
    "PARAMETERS",
    "Answer",
    "api_details",
    "ids",
    "newest_change",
    "paging",
    "service",
    "service_at_locations",
    "service_filters",
    "services",
    "taxonomies",
    "taxonomy_terms",
    "term_filter",
]

seal(__name__)
