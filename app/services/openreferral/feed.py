"""What each resource of the Open Referral UK feed answers: one function per resource, each
giving the JSON body and, where the data has one, when it last changed (for Last-Modified).

The views parse the query string (params) and turn an ``Answer`` into a cacheable
response; everything about the profile's shapes lives in this package.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Provider, Service
from app.services.errors import NotFound
from app.services.openreferral import documents, ids, locations, taxonomy
from app.services.openreferral.links import Links
from app.services.openreferral.pages import cut, page
from app.services.openreferral.params import Paging, ServiceFilters
from app.services.openreferral.selection import listed, select_page

HSDS_VERSION = "3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"


@dataclass(frozen=True)
class Answer:
    body: dict
    last_modified: dt.datetime | None = None


def newest_change() -> dt.datetime | None:
    """When any service or provider last changed (a withdrawal or a suspension too, so a
    list that lost one is newer than before)."""
    newest = [
        db.session.execute(select(func.max(Service.updated_at))).scalar_one_or_none(),
        db.session.execute(select(func.max(Provider.updated_at))).scalar_one_or_none(),
    ]
    return max((moment for moment in newest if moment is not None), default=None)


def _services(service_ids: list[int]) -> list[Service]:
    """The services, in the order of ``service_ids``, with what their documents read loaded."""
    if not service_ids:
        return []
    loaded = db.session.execute(
        select(Service)
        .where(Service.id.in_(service_ids))
        .options(selectinload(Service.hours), selectinload(Service.provider).selectinload(Provider.areas))
    ).scalars()
    by_id = {service.id: service for service in loaded}
    return [by_id[service_id] for service_id in service_ids if service_id in by_id]


def api_details() -> Answer:
    return Answer({"version": HSDS_VERSION, "profile": PROFILE_URL, "openapi_url": Links().openapi()})


def services(filters: ServiceFilters, paging: Paging) -> Answer:
    selection = select_page(filters, paging)
    links = Links()
    contents = [documents.brief(service, links) for service in _services(selection.service_ids)]
    return Answer(page(contents, selection.total, paging), newest_change())


def service(service_uuid: str) -> Answer:
    """A listed service, fully nested. NotFound for anything else: a malformed id, an
    unknown one, or a draft, withdrawn or hidden service's."""
    wanted = ids.parse(service_uuid)
    listed_ids = db.session.execute(listed(ServiceFilters())).scalars() if wanted else ()
    match = next((service_id for service_id in listed_ids if ids.service(service_id) == wanted), None)
    if match is None:
        raise NotFound("No listed service has this id")
    found = _services([match])[0]
    return Answer(documents.full(found, Links()), documents.last_modified(found))


def service_at_locations(filters: ServiceFilters, paging: Paging) -> Answer:
    """Each listed service at its provider's base, with the service's own fields."""
    selection = select_page(filters, paging)
    links = Links()
    contents = [
        {**locations.service_at_location(found), "service": documents.brief(found, links)} for found in _services(selection.service_ids)
    ]
    return Answer(page(contents, selection.total, paging), newest_change())


def taxonomies(paging: Paging) -> Answer:
    everything = taxonomy.taxonomies(current_app.config["SERVICE_NAME"])
    return Answer(page(cut(everything, paging), len(everything), paging))


def taxonomy_terms(taxonomy_key: str | None, paging: Paging) -> Answer:
    links = Links()
    terms = [term for term in taxonomy.all_terms() if taxonomy_key in (None, term.taxonomy)]
    return Answer(page([taxonomy.term_json(term, links) for term in cut(terms, paging)], len(terms), paging))
