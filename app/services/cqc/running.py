"""One import of one of CQC's files, from start to summary.

1. The header is checked (a wrong file is refused here, before anything changes) and the
   file's SHA-256 worked out: a file already imported is not read again ("already imported
   on ...: nothing changed").
2. The whole file is read, keeping what it says of our providers' locations (live
   providers: pending, verified or suspended) and counting the location ids no provider of
   ours has. Those are reported, never matched by name or address. Nothing is written yet,
   so a file that turns out unreadable halfway changes nothing either.
3. The changes are written in small units of work (``BATCH`` providers each, each
   provider's row locked and read afresh), so a web request never waits long for the
   database, and two imports at once cannot both write the same change. Each commit puts
   the providers changed in the search index's queue, so search and ranking follow at once.
4. The run is marked finished with its figures. Only a finished run counts as the file
   imported: after a crash, importing the file again finishes the work, and what was
   already written compares equal and is not written twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow, write_transaction
from app.extensions import db
from app.models import CQCFile, CQCImportRun, Provider, ProviderStatus, User
from app.services import audit
from app.services.cqc import applying, deregistering
from app.services.cqc.reading import CQCFileReader, LocationRecord
from app.services.cqc.summary import SHOWN, ImportSummary

BATCH = 50
Progress = Callable[[int, int], None]  # (bytes read, bytes in the file)


def import_file(path: str | Path, *, progress: Progress | None = None, by: User | None = None) -> ImportSummary:
    """Import one of CQC's files (see the module docstring); raises ``WrongFile``, having
    changed nothing, if it is not one."""
    path = Path(path)
    size = path.stat().st_size
    done = 0

    def read(count: int) -> None:
        nonlocal done
        done += count
        if progress is not None:
            progress(done, size)

    with path.open("rb") as raw:
        reader = CQCFileReader(raw, read)
        summary = ImportSummary(path.name, reader.kind)
        digest = sha256_of(path)
        earlier = finished_import(digest)
        if earlier is not None:
            summary.already_imported_at = earlier.finished_at
            return summary
        ours = our_locations()
        found = _read_all(reader, ours, summary)
    run = _start(path.name, digest, reader.kind)
    _apply_all(found, ours, run, summary, by)
    summary.ours_not_in_file = len(set(ours) - set(found))
    return _finish(run, summary, by)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        for block in iter(lambda: raw.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def finished_import(digest: str) -> CQCImportRun | None:
    return db.session.scalar(select(CQCImportRun).where(CQCImportRun.file_sha256 == digest, CQCImportRun.finished_at.is_not(None)))


def our_locations() -> dict[str, int]:
    """{CQC location id: provider id} for every provider still in play."""
    query = select(Provider.cqc_location_id, Provider.id).where(
        Provider.cqc_location_id.is_not(None), Provider.status != ProviderStatus.REJECTED
    )
    return dict(db.session.execute(query).tuples().all())


def _read_all(reader: CQCFileReader, ours: dict[str, int], summary: ImportSummary) -> dict[str, LocationRecord]:
    found: dict[str, LocationRecord] = {}
    unknown: dict[str, None] = {}  # in file order
    for record in reader.records():
        location_id = "".join(record.location_id.split())
        if location_id in ours:
            found[location_id] = found[location_id].merge(record) if location_id in found else record
        else:
            unknown.setdefault(location_id)
    db.session.rollback()  # end the read-only transaction before the writing starts
    summary.rows_read, summary.rows_skipped = reader.rows_read, reader.rows_skipped
    summary.problems, summary.problem_count = reader.problems, reader.problem_count
    summary.unknown_ids, summary.unknown_count = list(unknown)[:SHOWN], len(unknown)
    summary.locations_matched = len(found)
    summary.dormant_ids = [location_id for location_id, record in found.items() if record.dormant]
    return found


def _start(file_name: str, digest: str, kind: CQCFile) -> CQCImportRun:
    with write_transaction():
        run = CQCImportRun(file_name=file_name[:255], file_sha256=digest, kind=kind, started_at=utcnow())
        db.session.add(run)
    return run


def _apply_all(found: dict[str, LocationRecord], ours: dict[str, int], run: CQCImportRun, summary: ImportSummary, by) -> None:
    items = sorted(found.items())
    for start in range(0, len(items), BATCH):
        with write_transaction():
            batch = items[start : start + BATCH]
            providers = _locked([ours[location_id] for location_id, _ in batch])
            at = utcnow()
            for location_id, record in batch:
                provider = providers.get(ours[location_id])
                if provider is None or provider.cqc_location_id != location_id:
                    continue  # changed its location id while the file was read
                _apply_one(provider, record, run, summary, by, at)


def _locked(provider_ids: list[int]) -> dict[int, Provider]:
    query = select(Provider).where(Provider.id.in_(provider_ids)).with_for_update(of=Provider).execution_options(populate_existing=True)
    return {provider.id: provider for provider in db.session.scalars(query)}


def _apply_one(provider: Provider, record: LocationRecord, run: CQCImportRun, summary: ImportSummary, by, at: dt.datetime) -> None:
    if run.kind is CQCFile.DEACTIVATED:
        summary.deregistered += deregistering.flag(provider, record, run, by=by, at=at)
        return
    applied = applying.apply(provider, record, run, by=by, at=at)
    summary.ratings_changed += applied.ratings_changed
    summary.providers_changed += applied.provider_changed
    summary.listings_given_groups += applied.listings_given_groups
    summary.older += applied.older


def _finish(run: CQCImportRun, summary: ImportSummary, by: User | None) -> ImportSummary:
    """Mark the run finished with its figures; if another import of the same file finished
    first, say so (what this one wrote compared equal to what that one did)."""
    try:
        with write_transaction():
            run = db.session.get(CQCImportRun, run.id)
            run.finished_at = utcnow()
            for name in ("rows_read", "rows_skipped", "locations_matched", "providers_changed", "ratings_changed", "deregistered"):
                setattr(run, name, getattr(summary, name))
            run.unknown_locations = summary.unknown_count
            audit.record(by, "cqc.file_imported", "cqc_import_run", run.id, after=_figures(run), note=run.file_name)
    except IntegrityError:
        summary.finished_elsewhere = True
        return summary
    summary.run_id = run.id
    return summary


def _figures(run: CQCImportRun) -> dict:
    return {
        "file": run.kind.value,
        "sha256": run.file_sha256,
        "rows_read": run.rows_read,
        "locations_matched": run.locations_matched,
        "ratings_changed": run.ratings_changed,
        "unknown_locations": run.unknown_locations,
        "deregistered": run.deregistered,
    }
