"""Electronic call monitoring (ECM) files: a provider's export of the visits its carers
made, uploaded as CSV and taken whole or not at all.

  read     bytes -> rows: size, encoding (UTF-8, with or without a BOM), a header row
           naming the columns, at most MAX_ROWS visits. A cell is only ever data: one that
           looks like a spreadsheet formula is kept as the text it is.
  check    each row -> the visit it names (``visit_id``, or ``booking_reference`` and the
           planned start closest to the actual start on that UK day, or ``planned_start``)
           and what it says happened. Every row is checked and every problem named ("Row 4:
           ..."); a row for a visit already recorded the same way is skipped and counted (an
           export that overlaps the last one), one recorded differently is a problem.
  import   all rows recorded in one unit of work with the ``EcmUpload`` that names them, or
           nothing at all. The same file again (its SHA-256, per provider) finds that upload
           and changes nothing.

Columns (the header row, any order, any case; other columns are ignored): booking_reference
or visit_id, carer_reference, actual_start, actual_end; optional missed_reason (a row with no
times and a reason is a missed visit) and planned_start. Times are UK local time
"YYYY-MM-DD HH:MM" or ISO 8601 with an offset ("2026-12-01T09:30:00+00:00").
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app.database import MAX_ID, utcnow, write_transaction
from app.extensions import db
from app.formatting import format_date, format_datetime, pluralise
from app.models import (
    Booking,
    BookingStatus,
    BookingVisit,
    EcmUpload,
    ExceptionState,
    Provider,
    RecordSource,
    User,
    VisitOutcome,
    VisitRecord,
)
from app.services import bookings
from app.services.delivery.recording import Actuals, check_actuals, record_in_transaction
from app.services.errors import DomainError, ValidationError
from app.uk_time import UK, local_date

MAX_BYTES = 2_000_000
MAX_ROWS = 1_000  # one transaction, ~30-70 ms a row: kept well inside a web request
MAX_LISTED = 100  # problems listed; the rest are counted
ID_COLUMNS = ("booking_reference", "visit_id")
REQUIRED_COLUMNS = ("carer_reference", "actual_start", "actual_end")
OPTIONAL_COLUMNS = ("missed_reason", "planned_start")
COLUMNS = ID_COLUMNS + REQUIRED_COLUMNS + OPTIONAL_COLUMNS
EXAMPLE_TIME = "2026-12-01 09:30"
_MOMENT = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,]\d{1,6})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE
)


class EcmFileRefused(ValidationError):
    """The file was refused whole and nothing was recorded; ``problems`` names each problem
    (row by row), at most MAX_LISTED of them and a count of the rest."""

    def __init__(self, problems: list[str]):
        self.problems = problems[:MAX_LISTED]
        if len(problems) > MAX_LISTED:
            self.problems.append(f"And {pluralise(len(problems) - MAX_LISTED, 'more problem')}")
        first = self.problems[0] if len(problems) == 1 else f"The file has {pluralise(len(problems), 'problem')}"
        super().__init__({"file": f"{first}. Nothing was recorded"})


@dataclass(frozen=True)
class Row:
    number: int  # as a spreadsheet numbers it: the header is row 1
    cells: dict[str, str]  # the known columns, stripped ("" when empty or missing)


@dataclass(frozen=True)
class CheckedFile:
    rows: int  # visits the file names
    new: list[tuple[int, Actuals]]  # (row number, what to record) for visits not recorded yet

    @property
    def already_recorded(self) -> int:
        return self.rows - len(self.new)


# UK time -----------------------------------------------------------------------------------


def uk_moment(day: dt.date, time: dt.time) -> dt.datetime:
    """A UK wall-clock time as UTC. ValueError (with a message for people) for a time the
    clocks skipped in spring or passed twice in autumn."""
    first = dt.datetime.combine(day, time.replace(tzinfo=None), tzinfo=UK)
    if first.utcoffset() == first.replace(fold=1).utcoffset():
        return first.astimezone(dt.UTC)
    said = f"{time:%H:%M} on {format_date(day)}"
    if first.astimezone(dt.UTC).astimezone(UK).replace(tzinfo=None) != first.replace(tzinfo=None):
        raise ValueError(f"{said} did not happen in the UK (the clocks went forward)")
    raise ValueError(f"{said} happened twice in the UK (the clocks went back)")


def read_moment(text: str) -> dt.datetime:
    """'2026-12-01 09:30' (UK time) or ISO 8601 with an offset -> UTC; ValueError saying why not."""
    match = _MOMENT.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"is not a date and time like {EXAMPLE_TIME}")
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups()[:6])
    try:
        moment = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        raise ValueError(f"is not a real date and time, like {EXAMPLE_TIME}") from None
    offset = match.group(7)
    if offset is None:
        try:
            return uk_moment(moment.date(), moment.time())
        except ValueError as exc:
            raise ValueError(f"is not a time that happened once: {exc}. Give its offset, like 2026-10-25T01:30+01:00") from None
    if offset.upper() == "Z":
        return moment.replace(tzinfo=dt.UTC)
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 14 or minutes > 59:
        raise ValueError("has an offset from UTC that is not a real one")
    sign = -1 if offset[0] == "-" else 1
    return moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))).astimezone(dt.UTC)


def _clock(moment: dt.datetime) -> str:
    return moment.astimezone(UK).strftime("%H:%M")


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(UK).strftime("%Y-%m-%d %H:%M")


# Reading -------------------------------------------------------------------------------------


def _text_of(file_bytes: bytes) -> str:
    if not file_bytes:
        raise EcmFileRefused(["The file is empty"])
    if len(file_bytes) > MAX_BYTES:
        raise EcmFileRefused([f"The file is larger than {MAX_BYTES // 1_000_000} MB. Split it into smaller files"])
    if b"\x00" in file_bytes:
        raise EcmFileRefused(["The file is not a CSV file. Export the visits from your call monitoring system as CSV"])
    try:
        return file_bytes.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = file_bytes[: exc.start].count(b"\n") + 1
        raise EcmFileRefused(
            [f"The file is not in UTF-8 (line {line} has a character that is not). Save it as CSV UTF-8 and upload it again"]
        ) from None


def _header(cells: list[str]) -> dict[str, int]:
    """Each known column's position; the file refused if the header is missing or wrong."""
    names = [re.sub(r"[\s\-]+", "_", cell.strip().lower()) for cell in cells]
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if name in COLUMNS:
            if name in positions:
                raise EcmFileRefused([f"Row 1: the column {name} appears twice"])
            positions[name] = position
    wanted = ", ".join(("booking_reference or visit_id", *REQUIRED_COLUMNS))
    if not positions:
        separated = " Separate the columns with commas." if any(";" in cell or "\t" in cell for cell in cells) else ""
        raise EcmFileRefused([f"The first row must name the columns: {wanted}. It names none of them.{separated}".rstrip(".")])
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if not any(name in positions for name in ID_COLUMNS):
        missing.insert(0, "booking_reference or visit_id")
    if missing:
        raise EcmFileRefused([f"The first row must name the columns: {wanted}. It does not name {', '.join(missing)}"])
    return positions


def read_rows(file_bytes: bytes) -> list[Row]:
    """The file's visits, one Row each (blank rows left out); EcmFileRefused if it cannot be read."""
    text = _text_of(file_bytes)
    rows: list[Row] = []
    positions: dict[str, int] | None = None
    number = 0
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            if not any(cell.strip() for cell in cells):
                continue
            if positions is None:
                positions = _header(cells)
                continue
            if len(rows) == MAX_ROWS:
                raise EcmFileRefused([f"The file has more than {MAX_ROWS:,} visits. Split it into smaller files"])
            rows.append(Row(number, {name: cells[at].strip() if at < len(cells) else "" for name, at in positions.items()}))
    except csv.Error as exc:
        raise EcmFileRefused([f"Row {number + 1}: cannot be read as CSV ({exc})"]) from None
    if positions is None:
        raise EcmFileRefused(["The file is empty"])
    if not rows:
        raise EcmFileRefused(["The file has a header row but no visits"])
    return rows


# Checking ------------------------------------------------------------------------------------


@dataclass
class _Known:
    """The provider's visits and bookings the file names, and their records, read at once."""

    visits: dict[int, BookingVisit]
    bookings: dict[str, Booking]
    records: dict[int, VisitRecord]


def _chunks(values: list, size: int = 500):
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _visit_id(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= MAX_ID else None


def _known(rows: list[Row], provider: Provider) -> _Known:
    ids = sorted({number for r in rows if (number := _visit_id(r.cells.get("visit_id", ""))) is not None})
    references = sorted({r.cells["booking_reference"].upper() for r in rows if r.cells.get("booking_reference")})
    visits: dict[int, BookingVisit] = {}
    for chunk in _chunks(ids):
        query = (
            select(BookingVisit)
            .join(Booking)
            .where(BookingVisit.id.in_(chunk), Booking.provider_id == provider.id)
            .options(joinedload(BookingVisit.booking))
        )
        visits.update((v.id, v) for v in db.session.execute(query).scalars())
    found: dict[str, Booking] = {}
    for chunk in _chunks(references):
        query = (
            select(Booking).where(Booking.reference.in_(chunk), Booking.provider_id == provider.id).options(selectinload(Booking.visits))
        )
        for booking in db.session.execute(query).scalars():
            found[booking.reference.upper()] = booking
            visits.update((v.id, v) for v in booking.visits)
    records: dict[int, VisitRecord] = {}
    for chunk in _chunks(sorted(visits)):
        records.update((r.visit_id, r) for r in db.session.execute(select(VisitRecord).where(VisitRecord.visit_id.in_(chunk))).scalars())
    return _Known(visits, found, records)


def _moments(row: Row, problems: list[str]) -> dict[str, dt.datetime | None]:
    moments: dict[str, dt.datetime | None] = {}
    for name in ("actual_start", "actual_end", "planned_start"):
        text = row.cells.get(name, "")
        moments[name] = None
        if text:
            try:
                moments[name] = read_moment(text)
            except ValueError as exc:
                problems.append(f"Row {row.number}: {name} “{text[:40]}” {exc}")
    return moments


def _visit_named(row: Row, known: _Known, moments: dict, problems: list[str]) -> BookingVisit | None:
    """The visit a row names, or None with the problem said."""
    visit_id, reference = row.cells.get("visit_id", ""), row.cells.get("booking_reference", "").upper()
    if visit_id:
        visit = known.visits.get(_visit_id(visit_id) or 0)
        if visit is None:
            problems.append(f"Row {row.number}: no visit with visit_id {visit_id[:20]} for your organisation")
        elif reference and visit.booking.reference.upper() != reference:
            problems.append(f"Row {row.number}: visit {visit_id} is not part of booking {reference[:20]}")
            visit = None
        return visit
    if not reference:
        problems.append(f"Row {row.number}: give the booking_reference or the visit_id")
        return None
    booking = known.bookings.get(reference)
    planned, start = moments["planned_start"], moments["actual_start"]
    if booking is None:
        problems.append(f"Row {row.number}: no booking with reference {reference[:20]} for your organisation")
        return None
    if planned is not None:
        candidates = [v for v in booking.visits if v.starts_at == planned]
        said = f"planned to start at {_when(planned)}"
    elif start is not None:
        same_day = [v for v in booking.visits if local_date(v.starts_at) == local_date(start)]
        candidates = sorted(same_day, key=lambda v: abs(v.starts_at - start))
        said = f"on {_when(start)}"
    else:
        if not row.cells.get("actual_start") and not row.cells.get("planned_start"):
            problems.append(f"Row {row.number}: a missed visit named by booking_reference needs its planned_start (or give its visit_id)")
        return None
    if not candidates:
        problems.append(f"Row {row.number}: no visit with booking reference {reference} {said} for your organisation")
        return None
    return candidates[0]


def _actuals_of(row: Row, visit_id: int, moments: dict, problems: list[str]) -> Actuals | None:
    start, end = moments["actual_start"], moments["actual_end"]
    reason, carer = row.cells.get("missed_reason", ""), row.cells.get("carer_reference", "")
    given = [name for name in ("actual_start", "actual_end") if row.cells.get(name)]
    if not given:
        if not reason:
            problems.append(f"Row {row.number}: give the actual_start and actual_end, or a missed_reason if the visit did not happen")
            return None
        return Actuals(visit_id, carer_ref=carer, missed_reason=reason)
    if reason:
        problems.append(f"Row {row.number}: give the times or a missed_reason, not both")
        return None
    if len(given) == 1:
        problems.append(f"Row {row.number}: {'actual_end' if given == ['actual_start'] else 'actual_start'} is empty")
        return None
    if start is None or end is None:
        return None  # the time that could not be read is already named
    if end <= start:
        problems.append(f"Row {row.number}: end {_clock(end)} is {'before' if end < start else 'the same as'} start {_clock(start)}")
        return None
    return Actuals(visit_id, start=start, end=end, carer_ref=carer)


def _same(record: VisitRecord, actuals: Actuals) -> bool:
    if actuals.missed:
        return record.outcome is VisitOutcome.MISSED
    return record.outcome is VisitOutcome.DELIVERED and (record.actual_start, record.actual_end) == (actuals.start, actuals.end)


def _recordable(number: int, visit: BookingVisit, actuals: Actuals, *, now: dt.datetime) -> list[str]:
    """What stops this row's visit being recorded as it says, as row problems."""
    booking, on = visit.booking, format_datetime(visit.starts_at)
    if booking.status is not BookingStatus.ACCEPTED:
        return [f"Row {number}: booking {booking.reference} is {booking.status.label.lower()}: only accepted bookings' visits are recorded"]
    if visit.starts_at > now:
        return [f"Row {number}: the visit on {on} has not started yet"]
    can = visit.status.is_upcoming if actuals.missed else bookings.payment_strategy(booking.payment_method).can_deliver(visit)
    if not can:
        return [f"Row {number}: the visit on {on} cannot be recorded: {visit.status.label.lower()}"]
    return [f"Row {number}: {message[0].lower()}{message[1:]}" for message in check_actuals(actuals, visit, now=now).values()]


def check_file(file_bytes: bytes, *, provider: Provider, now: dt.datetime) -> CheckedFile:
    """Every row of the file checked against the provider's visits (nothing written). Raises
    EcmFileRefused naming every problem."""
    rows = read_rows(file_bytes)
    known = _known(rows, provider)
    problems: list[str] = []
    new: list[tuple[int, Actuals]] = []
    first_row_of: dict[int, int] = {}
    for row in rows:
        found: list[str] = []
        moments = _moments(row, found)
        visit = _visit_named(row, known, moments, found)
        actuals = _actuals_of(row, visit.id if visit else 0, moments, found)
        if visit is not None and actuals is not None and not found:
            if visit.id in first_row_of:
                found.append(f"Row {row.number}: the same visit as row {first_row_of[visit.id]}")
            first_row_of.setdefault(visit.id, row.number)
            record = known.records.get(visit.id)
            if record is not None and not found and not _same(record, actuals):
                found.append(f"Row {row.number}: the visit on {format_datetime(visit.starts_at)} is already recorded differently")
            elif record is None and not found:
                found += _recordable(row.number, visit, actuals, now=now)
                new.append((row.number, actuals))
        problems += found
    if problems:
        raise EcmFileRefused(problems)
    return CheckedFile(len(rows), new)


def parse_ecm(file_bytes: bytes, *, provider: Provider, now: dt.datetime) -> list[Actuals]:
    """What the file says about each of the provider's visits not yet recorded, or
    EcmFileRefused naming every bad row. Writes nothing."""
    return [actuals for _, actuals in check_file(file_bytes, provider=provider, now=now).new]


# Importing -----------------------------------------------------------------------------------


def _upload_of(provider: Provider, digest: str) -> EcmUpload | None:
    query = select(EcmUpload).where(EcmUpload.provider_id == provider.id, EcmUpload.sha256 == digest)
    return db.session.execute(query).scalar_one_or_none()


def _record_all(upload: EcmUpload, checked: CheckedFile, *, provider: Provider, by: User, now: dt.datetime) -> list[tuple]:
    recorded = []
    for number, actuals in checked.new:
        try:
            recorded.append(
                record_in_transaction(actuals, provider=provider, by=by, source=RecordSource.UPLOAD, now=now, upload_id=upload.id)
            )
        except ValidationError as exc:  # changed since the check (someone recorded it meanwhile)
            raise EcmFileRefused([f"Row {number}: {message}" for message in exc.errors.values()]) from None
        except DomainError as exc:
            raise EcmFileRefused([f"Row {number}: {exc}"]) from None
    return recorded


def _follow_up(recorded: list[tuple], by: User) -> None:
    """After the commit: each booking paid or given money back gets its way of paying's
    follow-ups once (a visit waiting for the council has none yet)."""
    released_by_booking: dict[int, tuple[Booking, bool]] = {}
    for booking, written, released in recorded:
        if written.outcome is VisitOutcome.MISSED or written.exception_state is ExceptionState.NONE:
            before = released_by_booking.get(booking.id, (booking, False))[1]
            released_by_booking[booking.id] = (booking, before or released)
    for booking, released in released_by_booking.values():
        bookings.after_payment(booking, by=by, released_some=released)


def import_ecm(file_bytes: bytes, filename: str, *, provider: Provider, by: User, now: dt.datetime | None = None) -> EcmUpload:
    """Record every visit in the file, in one unit of work, or none (EcmFileRefused names
    every problem). The same file again returns its first upload and changes nothing (its
    ``uploaded_at`` is then before ``now``)."""
    now = now or utcnow()
    digest = hashlib.sha256(file_bytes).hexdigest()
    name = "".join(char for char in (filename or "") if char.isprintable())[:200]
    try:
        with write_transaction():
            upload = _upload_of(provider, digest)
            if upload is not None:
                return upload
            checked = check_file(file_bytes, provider=provider, now=now)
            upload = EcmUpload(
                provider_id=provider.id,
                uploaded_by_id=by.id,
                uploaded_at=now,
                filename=name,
                sha256=digest,
                row_count=checked.rows,
                recorded_count=len(checked.new),
            )
            db.session.add(upload)
            db.session.flush()
            recorded = _record_all(upload, checked, provider=provider, by=by, now=now)
    except IntegrityError:
        upload = _upload_of(provider, digest)  # the same file, sent twice at once: the other one took it
        if upload is None:
            raise
        return upload
    _follow_up(recorded, by)
    return upload


def waiting_for_council(upload: EcmUpload) -> int:
    """How many of the upload's visits were outside the tolerance (the council decides)."""
    query = select(func.count(VisitRecord.id)).where(VisitRecord.upload_id == upload.id, VisitRecord.exception_state == ExceptionState.OPEN)
    return int(db.session.execute(query).scalar_one())
