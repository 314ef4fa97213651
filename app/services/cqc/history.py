"""What the import has done, for commissioners: when ratings were last imported, recent
imports, and a provider's rating history."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import CQCFile, CQCImportRun, CQCRatingChange, Provider

RECENT = 12


def last_import() -> CQCImportRun | None:
    """The most recent finished import of a file with ratings (not the deactivated
    locations file, which changes none)."""
    return db.session.scalar(
        select(CQCImportRun)
        .where(CQCImportRun.finished_at.is_not(None), CQCImportRun.kind != CQCFile.DEACTIVATED)
        .order_by(CQCImportRun.finished_at.desc(), CQCImportRun.id.desc())
        .limit(1)
    )


def recent_imports(limit: int = RECENT) -> list[CQCImportRun]:
    """Finished imports, newest first."""
    query = (
        select(CQCImportRun)
        .where(CQCImportRun.finished_at.is_not(None))
        .order_by(CQCImportRun.finished_at.desc(), CQCImportRun.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def rating_history(provider: Provider) -> list[CQCRatingChange]:
    """Every change of the provider's CQC ratings the import made, newest first, in CQC's
    order of ratings within one import."""
    query = (
        select(CQCRatingChange)
        .where(CQCRatingChange.provider_id == provider.id)
        .order_by(CQCRatingChange.imported_at.desc(), CQCRatingChange.run_id.desc(), CQCRatingChange.id)
    )
    return list(db.session.scalars(query))
