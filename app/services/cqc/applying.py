"""What one location's record does to the provider whose CQC location id it is.

Only what changed is written: each rating that differs gets a history row (which rating,
from what to what, CQC's publication date) and the provider's rating is set; the date CQC
published the ratings moves with them. One audit event per provider changed says what
changed. A record published before the ratings we hold is passed over, so importing last
month's file after this month's takes nothing back.

The provider's inspection date is cleared when its ratings change, or a newer publication
replaces the one we held: CQC's files do not give the inspection date, and an old one
beside new ratings would mislead. The service user bands of the care directory with
filters are added to the groups each listing supports (``people_supported.add_from_cqc``,
which only ever adds).

All in the caller's unit of work: the import commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.extensions import db
from app.models import CQCImportRun, CQCRatingChange, Provider, User
from app.services import audit, people_supported
from app.services.cqc.reading import LocationRecord

PUBLISHED = "cqc_rating_published_on"
INSPECTED = "cqc_inspection_date"


@dataclass(frozen=True)
class Applied:
    ratings_changed: int = 0
    provider_changed: bool = False
    listings_given_groups: int = 0
    older: bool = False  # passed over: published before the ratings we hold


def is_older(provider: Provider, record: LocationRecord) -> bool:
    held, published = provider.cqc_rating_published_on, record.published_on
    return bool(record.ratings) and held is not None and published is not None and published < held


def apply(provider: Provider, record: LocationRecord, run: CQCImportRun, *, by: User | None, at: dt.datetime) -> Applied:
    """Bring the provider's ratings (and its listings' groups) up to what the record says."""
    groups = _add_groups(provider, record, by)
    if is_older(provider, record):
        return Applied(listings_given_groups=groups, older=True)
    before, after = {}, {}
    for question, rating in record.ratings.items():
        held = getattr(provider, question.provider_field)
        if held != rating:
            _add_history(provider, record, run, question, held, rating, at)
            before[question.provider_field], after[question.provider_field] = held, rating
    ratings_changed = len(after)
    published = record.published_on if record.ratings else None
    republished = published is not None and published != provider.cqc_rating_published_on
    if republished:
        before[PUBLISHED], after[PUBLISHED] = provider.cqc_rating_published_on, published
    replaced = ratings_changed or (republished and provider.cqc_rating_published_on is not None)
    if replaced and provider.cqc_inspection_date is not None:
        before[INSPECTED], after[INSPECTED] = provider.cqc_inspection_date, None
    for name, value in after.items():
        setattr(provider, name, value)
    if after:
        audit.record(
            by,
            "provider.cqc_ratings_imported",
            "provider",
            provider.id,
            before=before,
            after=after,
            note=f"From CQC's {run.kind.label.lower()} file {run.file_name}, location {record.location_id}",
        )
    return Applied(ratings_changed=ratings_changed, provider_changed=bool(after), listings_given_groups=groups)


def _add_history(provider, record, run, question, held, rating, at) -> None:
    db.session.add(
        CQCRatingChange(
            provider_id=provider.id,
            location_id=record.location_id,
            question=question,
            from_rating=held,
            to_rating=rating,
            published_on=record.published_on,
            imported_at=at,
            run_id=run.id,
        )
    )


def _add_groups(provider: Provider, record: LocationRecord, by: User | None) -> int:
    if not record.bands:
        return 0
    location = {"serviceUserBands": list(record.bands), "locationId": record.location_id}
    return len(people_supported.add_from_cqc(provider, location, by=by))
