"""How the market changed month by month: listings published for the first time and
withdrawn, providers verified (joining) and suspended, from the audit trail."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, Service
from app.services.reports.filters import ReportFilter, first_of_month
from app.services.reports.supply_scope import coverage
from app.uk_time import local_date

LISTED, WITHDRAWN = "service.published", "service.withdrawn"
JOINED, SUSPENDED = "provider.verified", "provider.suspended"
# (column key, heading, audit action, counted once per thing ever)
SERIES = (
    ("listed", "Services listed", LISTED, True),
    ("withdrawn", "Services withdrawn", WITHDRAWN, False),
    ("joined", "Providers joining", JOINED, True),
    ("suspended", "Providers suspended", SUSPENDED, False),
)

CHANGES_NOTE = (
    "From the audit trail. A service is listed in the month it was first published (or, where the trail has no record of it, "
    "when it was last published); publishing it again after a withdrawal does not count it again. A provider joins in the month "
    "the council first verified it. Withdrawals and suspensions are counted each time they happen. "
    "The marketplace has no separate record of providers leaving: a suspended provider has left the marketplace. "
)


def _services() -> dict[int, tuple[int, int, dt.datetime | None]]:
    rows = db.session.execute(select(Service.id, Service.category_id, Service.provider_id, Service.published_at))
    return {sid: (category_id, provider_id, published_at) for sid, category_id, provider_id, published_at in rows}


def _firsts(action: str) -> dict[str, dt.datetime]:
    rows = db.session.execute(
        select(AuditEvent.target_id, func.min(AuditEvent.occurred_at)).where(AuditEvent.action == action).group_by(AuditEvent.target_id)
    )
    return {target: at for target, at in rows if target is not None}


def _each(action: str, f: ReportFilter) -> list[tuple[str, dt.datetime]]:
    statement = select(AuditEvent.target_id, AuditEvent.occurred_at).where(
        AuditEvent.action == action, AuditEvent.occurred_at >= f.starts_at, AuditEvent.occurred_at < f.ends_at
    )
    return [(target, at) for target, at in db.session.execute(statement) if target is not None]


def _events(f: ReportFilter, services: dict) -> dict[str, list[tuple[str, dt.datetime]]]:
    """(target id, when) for each series."""
    found = {}
    for key, _, action, once in SERIES:
        found[key] = list(_firsts(action).items()) if once else _each(action, f)
    recorded = {target for target, _ in found["listed"]}
    found["listed"] += [(str(sid), at) for sid, (_, _, at) in services.items() if at is not None and str(sid) not in recorded]
    return found


def _allowed(f: ReportFilter, services: dict) -> tuple[set[str], set[str]]:
    """The services and providers the filter's type of support and district allow."""
    service_ids = {sid for sid, (category_id, _, _) in services.items() if f.category is None or category_id == f.category.id}
    provider_ids = {services[sid][1] for sid in service_ids} if f.category is not None else None
    if f.district:
        cover = coverage(verified_only=False)
        reaching = {pid for pid, districts in cover.items() if f.district in districts}
        provider_ids = reaching if provider_ids is None else provider_ids & reaching
        service_ids = {sid for sid in service_ids if services[sid][1] in reaching}
    return {str(sid) for sid in service_ids}, (None if provider_ids is None else {str(pid) for pid in provider_ids})


def monthly_changes(f: ReportFilter) -> list[tuple]:
    """(month, listed, withdrawn, joined, suspended) for every month of the period."""
    services = _services()
    allowed_services, allowed_providers = _allowed(f, services)
    counts: dict[str, Counter] = {}
    for key, targets in _events(f, services).items():
        allowed = allowed_services if key in ("listed", "withdrawn") else allowed_providers
        counts[key] = Counter(
            first_of_month(local_date(at))
            for target, at in targets
            if f.starts_at <= at < f.ends_at and (allowed is None or target in allowed)
        )
    return [(month, *(counts[key][month] for key, *_ in SERIES)) for month in f.months]


def changes_note(f: ReportFilter) -> str:
    said = CHANGES_NOTE
    if f.category is not None:
        said += "For a type of support, providers count when they have ever listed a service of that type. "
    if f.district:
        said += "For a district, services and providers count when the provider works there now. "
    if f.way is not None:
        said += "The way of paying does not apply to this table. "
    return said
