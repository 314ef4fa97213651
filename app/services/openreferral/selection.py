"""Which listed services a list answers, and in what order, one page at a time.

"Listed" is the storefront's own rule (catalogue.listed_services_filter: published, from
a verified provider), so the feed never shows what the site hides. Without words or a
postcode the database pages the list itself, in name order. With words, the search's
best-match order; with a postcode, nearest first. Either way the total is exact, because
the filters are applied to every candidate before the page is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select

from app.extensions import db
from app.models import Provider, Service, ServiceHours
from app.services import catalogue, search
from app.services.openreferral import geography
from app.services.openreferral.params import Paging, ServiceFilters
from app.services.openreferral.taxonomy import Term


@dataclass(frozen=True)
class Selection:
    total: int
    service_ids: list[int]  # the page's, in order


def _term_condition(term: Term):
    if term.category_id is not None:
        return Service.category_id == term.category_id
    return Provider.cqc_overall == term.rating


def listed(filters: ServiceFilters) -> Select:
    """The ids of the listed services that pass the filters the database can apply."""
    query = select(Service.id).join(Provider, Service.provider_id == Provider.id).where(catalogue.listed_services_filter())
    if filters.term is not None:
        query = query.where(_term_condition(filters.term))
    for day in filters.days:
        query = query.where(Service.id.in_(select(ServiceHours.service_id).where(ServiceHours.weekday == day)))
    if filters.modified_after is not None:
        query = query.where(or_(Service.updated_at >= filters.modified_after, Provider.updated_at >= filters.modified_after))
    return query


def _by_place(rows: list, filters: ServiceFilters) -> list[int]:
    """The ids of ``rows`` (id, provider_id) that reach the postcode, or whose base is
    within ``proximity`` metres of it, nearest first (a stable sort: ties keep their order)."""
    district = filters.district
    bases = geography.bases(row.provider_id for row in rows)
    kept = []
    for row in rows:
        base = bases[row.provider_id]
        metres = base.metres_to(district)
        if filters.proximity is not None:
            if metres is not None and metres <= filters.proximity:
                kept.append((metres, row.id))
        elif base.reaches(district):
            kept.append((metres if metres is not None else float("inf"), row.id))
    kept.sort(key=lambda pair: pair[0])
    return [service_id for _, service_id in kept]


def select_page(filters: ServiceFilters, paging: Paging) -> Selection:
    query = listed(filters)
    start = (paging.page - 1) * paging.per_page
    if not filters.search and filters.district is None:
        total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        page = db.session.execute(query.order_by(Service.title, Service.id).limit(paging.per_page).offset(start)).scalars().all()
        return Selection(total, list(page))
    rows = db.session.execute(query.add_columns(Service.provider_id).order_by(Service.title, Service.id)).all()
    if filters.search:
        # The search page's best-match order for the words as typed (no corrected spelling,
        # no broader search); every id in one pass. Raises SearchUnavailable without an index.
        found = search.ids_in_order(search.SearchParams(q=filters.search))
        rank = {service_id: n for n, service_id in enumerate(found)}
        rows = sorted((row for row in rows if row.id in rank), key=lambda row: rank[row.id])
    ordered = _by_place(rows, filters) if filters.district is not None else [row.id for row in rows]
    return Selection(len(ordered), ordered[start : start + paging.per_page])
