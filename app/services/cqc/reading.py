"""Reading one of CQC's files as CSV, a line at a time, into what it says of each location.

The header is checked first (``files.find_header``): a file that is not one of CQC's is
refused before anything is read or changed. Each data row then gives a ``LocationRecord``;
the care directory with ratings gives several rows per location (one per rating), which
``LocationRecord.merge`` puts together. A row the import cannot use (no location id, a
rating or date it cannot read) is reported with its row number, never guessed; a cell
it cannot read is left out and the rest of the row used.

The file is read as bytes and decoded here (UTF-8, with or without the byte order mark
spreadsheets put first), so the progress callback can say how many bytes are done.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

from app.models import CQCFile, CQCQuestion, CQCRating
from app.services.cqc import values
from app.services.cqc.files import LOCATION_ID, MAX_PREAMBLE_ROWS, Header, WrongFile, find_header, normalise

MAX_PROBLEMS_KEPT = 100
MAX_LOCATION_ID = 20


@dataclass(frozen=True)
class Problem:
    row: int  # its row in the file, counting the header as row 1
    location_id: str
    message: str


@dataclass(frozen=True)
class LocationRecord:
    """What a file says of one location. ``ratings`` holds only the ratings it states
    (None: it says there is none); ``published`` the publication date of each."""

    location_id: str
    name: str = ""
    postcode: str = ""
    ratings: dict[CQCQuestion, CQCRating | None] = field(default_factory=dict)
    published: dict[CQCQuestion, dt.date] = field(default_factory=dict)
    bands: tuple[str, ...] = ()
    dormant: bool = False
    deregistered: bool = False
    deregistered_on: dt.date | None = None

    @property
    def published_on(self) -> dt.date | None:
        """When CQC published the location's ratings: the overall rating's date, else the
        latest of the others."""
        if CQCQuestion.OVERALL in self.published:
            return self.published[CQCQuestion.OVERALL]
        return max(self.published.values(), default=None)

    def merge(self, other: LocationRecord) -> LocationRecord:
        """This record with what a later row of the same location adds."""
        return replace(
            self,
            name=other.name or self.name,
            postcode=other.postcode or self.postcode,
            ratings={**self.ratings, **other.ratings},
            published={**self.published, **other.published},
            bands=tuple(dict.fromkeys(self.bands + other.bands)),
            dormant=self.dormant or other.dormant,
            deregistered=self.deregistered or other.deregistered,
            deregistered_on=other.deregistered_on or self.deregistered_on,
        )


class CQCFileReader:
    """One of CQC's files, open for reading. Making one reads and checks the header
    (raising ``files.WrongFile``); ``records()`` then reads the rest."""

    def __init__(self, raw: BinaryIO, progress: Callable[[int], None] | None = None):
        self._progress = progress or (lambda done: None)
        self._rows = csv.reader(self._lines(raw))
        self.rows_read = 0
        self.rows_skipped = 0
        self.problem_count = 0
        self.problems: list[Problem] = []
        head = []
        for row in self._safely(self._rows):
            head.append(row)
            if len(head) > MAX_PREAMBLE_ROWS or LOCATION_ID in (normalise(cell) for cell in row):
                break
        self.header: Header = find_header(head)
        self._row_number = len(head)

    @property
    def kind(self) -> CQCFile:
        return self.header.kind

    def _lines(self, raw: BinaryIO) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        for line in raw:
            self._progress(len(line))
            yield decoder.decode(line)
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    @staticmethod
    def _safely(rows: Iterator[list[str]]) -> Iterator[list[str]]:
        """The rows, with a file that is not CSV at all (a spreadsheet's own format, say)
        refused as the wrong file."""
        try:
            yield from rows
        except csv.Error as exc:
            raise WrongFile(f"The file cannot be read as CSV ({exc}). Save CQC's sheet as CSV and import that.") from exc

    def records(self) -> Iterator[LocationRecord]:
        """Each data row's record, in file order (blank rows passed over)."""
        for row in self._safely(self._rows):
            self._row_number += 1
            if not any(cell.strip() for cell in row):
                continue
            self.rows_read += 1
            record = self._record(row)
            if record is None:
                self.rows_skipped += 1
            else:
                yield record

    def _cell(self, row: list[str], key: str) -> str:
        index = self.header.positions[key]
        return row[index].strip() if index < len(row) else ""

    def _problem(self, location_id: str, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(Problem(self._row_number, location_id, message))

    def _record(self, row: list[str]) -> LocationRecord | None:
        location_id = self._cell(row, "location_id")
        if not location_id or len(location_id) > MAX_LOCATION_ID:
            self._problem(location_id[:MAX_LOCATION_ID], "no CQC location id" if not location_id else "not a CQC location id")
            return None
        record = LocationRecord(location_id, name=self._cell(row, "name"), postcode=self._cell(row, "postcode"))
        if self.kind is CQCFile.RATINGS:
            return self._rating_row(row, record)
        if self.kind is CQCFile.FILTERS:
            return self._filters_row(row, record)
        return self._deactivated_row(row, record)

    def _read(self, location_id: str, reader: Callable[[str], object], text: str, what: str):
        """A cell read with ``reader``: (True, value), or (False, None) if blank or unreadable."""
        if values.is_blank(text):
            return False, None
        try:
            return True, reader(text)
        except values.UnreadableValue as exc:
            self._problem(location_id, f"{what}: {exc}, so it was left out")
            return False, None

    def _rating_row(self, row: list[str], record: LocationRecord) -> LocationRecord:
        if not values.group_is_overall(self._cell(row, "group")):
            return record  # a rating of one of its services, not of the location
        question = values.domain(self._cell(row, "domain"))
        if question is None:
            return record
        return self._with_rating(row, record, question)

    def _with_rating(self, row: list[str], record: LocationRecord, question: CQCQuestion) -> LocationRecord:
        said, rating = self._read(record.location_id, values.rating, self._cell(row, "rating"), f"{question.label} rating")
        if not said:
            return record
        dated, published = self._read(record.location_id, values.date, self._cell(row, "published"), "publication date")
        return replace(record, ratings={question: rating}, published={question: published} if dated else {})

    def _filters_row(self, row: list[str], record: LocationRecord) -> LocationRecord:
        bands = tuple(name for name, index in self.header.bands if index < len(row) and values.yes(row[index]))
        record = replace(record, bands=bands, dormant=values.yes(self._cell(row, "dormant")))
        return self._with_rating(row, record, CQCQuestion.OVERALL)

    def _deactivated_row(self, row: list[str], record: LocationRecord) -> LocationRecord:
        _, ended = self._read(record.location_id, values.date, self._cell(row, "ended"), "end of registration date")
        return replace(record, deregistered=True, deregistered_on=ended)
