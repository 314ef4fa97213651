"""Locations CQC has deregistered, and the providers that still give one as theirs.

Only CQC's deactivated locations file says a location is no longer registered; the
import records each one that is the location of one of our providers (once: a second
file saying it again changes nothing) and audits it. The provider is not suspended or
changed: commissioners see the flag and decide. A provider is flagged while the location
id it gives is a deregistered one, so giving its new registration's id clears the flag.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import CQCDeregistration, CQCImportRun, Provider, ProviderStatus, User
from app.services import audit
from app.services.cqc.reading import LocationRecord


def flag(provider: Provider, record: LocationRecord, run: CQCImportRun, *, by: User | None, at: dt.datetime) -> bool:
    """Record that the provider's location is deregistered, unless it is already; whether
    it was new. In the caller's unit of work."""
    if not record.deregistered:
        return False
    known = db.session.scalar(select(CQCDeregistration).where(CQCDeregistration.location_id == record.location_id))
    if known is not None:
        return False
    db.session.add(
        CQCDeregistration(
            location_id=record.location_id,
            provider_id=provider.id,
            deregistered_on=record.deregistered_on,
            recorded_at=at,
            run_id=run.id,
        )
    )
    audit.record(
        by,
        "provider.cqc_deregistered",
        "provider",
        provider.id,
        after={"cqc_location_id": record.location_id, "deregistered_on": record.deregistered_on},
        note=f"From CQC's deactivated locations file {run.file_name}",
    )
    return True


def flagged_providers() -> list[tuple[Provider, CQCDeregistration]]:
    """Providers still in play (not rejected) whose CQC location id CQC has deregistered,
    most recently deregistered first."""
    query = (
        select(Provider, CQCDeregistration)
        .join(CQCDeregistration, CQCDeregistration.location_id == Provider.cqc_location_id)
        .where(Provider.status != ProviderStatus.REJECTED)
        .order_by(CQCDeregistration.deregistered_on.desc().nulls_last(), Provider.name)
    )
    return [(row[0], row[1]) for row in db.session.execute(query)]


def deregistration_of(provider: Provider) -> CQCDeregistration | None:
    """The deregistration of the provider's current CQC location, if CQC has deregistered it."""
    if not provider.cqc_location_id:
        return None
    return db.session.scalar(select(CQCDeregistration).where(CQCDeregistration.location_id == provider.cqc_location_id))
