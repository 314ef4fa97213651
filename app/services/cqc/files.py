"""Which of CQC's monthly files this is, from its header alone, before anything is read.

CQC publishes three files about the locations it registers (cqc.org.uk, "Using CQC data"),
as spreadsheets with one sheet of data each; the import reads that sheet saved as CSV:

* **Care directory with ratings** ("Latest ratings", its Locations sheet): one row per
  location, service or population group and rating ("Domain": Overall, Safe, Effective,
  Caring, Responsive, Well-led), with "Latest Rating" and "Publication Date". The ratings.
* **Care directory with filters** ("HSCA Active Locations"): one row per registered
  location, with its overall rating and publication date only, "Dormant (Y/N)", and a
  "Y" column for each service type and service user band. The groups of people it supports.
* **Deactivated locations**: one row per location CQC no longer registers, with its
  "Location HSCA End Date". The only file that says a location is deregistered: a location
  missing from the other two is not proof of anything.

Column names are compared without regard to case or spacing (CQC's files differ: "Care
Home?" and "Care home?", "Location Post Code" and "Location Postal Code"). A file is
recognised by a column only it has; then every column the import reads must be there, or
the file is refused naming what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.models import CQCFile
from app.services.errors import DomainError

LOCATION_ID = "location id"
BAND_PREFIX = "service user band - "
MAX_PREAMBLE_ROWS = 10  # rows of notes CQC sometimes puts above the header


class WrongFile(DomainError):
    """The file is not one of CQC's care directory files the import reads (nothing changed)."""


@dataclass(frozen=True)
class Column:
    """A column the import reads: what it is called here, and CQC's names for it."""

    key: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class FileFormat:
    kind: CQCFile
    marker: str  # a column (normalised) only this file has
    columns: tuple[Column, ...]


def _col(key: str, *names: str) -> Column:
    return Column(key, tuple(normalise(n) for n in names))


def normalise(name: str) -> str:
    """A column name as compared: lower case, single spaces, no spaces at the ends."""
    return re.sub(r"\s+", " ", (name or "").replace("\ufeff", "")).strip().lower()


_ID = _col("location_id", "Location ID")
_NAME = _col("name", "Location Name")
_POSTCODE = _col("postcode", "Location Post Code", "Location Postal Code")

FORMATS = (
    FileFormat(
        CQCFile.RATINGS,
        normalise("Domain"),
        (
            _ID,
            _NAME,
            _POSTCODE,
            _col("group", "Service / Population Group"),
            _col("domain", "Domain"),
            _col("rating", "Latest Rating"),
            _col("published", "Publication Date"),
        ),
    ),
    FileFormat(
        CQCFile.DEACTIVATED,
        normalise("Location HSCA End Date"),
        (_ID, _NAME, _POSTCODE, _col("ended", "Location HSCA End Date")),
    ),
    FileFormat(
        CQCFile.FILTERS,
        normalise("Dormant (Y/N)"),
        (
            _ID,
            _NAME,
            _POSTCODE,
            _col("dormant", "Dormant (Y/N)"),
            _col("rating", "Location Latest Overall Rating"),
            _col("published", "Publication Date"),
        ),
    ),
)

EXPECTED = (
    "one of CQC's care directory files saved as CSV, with its header in the first row: the care directory "
    "with ratings (the Locations sheet of CQC's latest ratings file), the care directory with filters "
    "(HSCA Active Locations) or the deactivated locations file"
)


@dataclass(frozen=True)
class Header:
    """A recognised header: which file, where each column the import reads is, and the
    service user band columns (band name, position)."""

    format: FileFormat
    positions: dict[str, int]
    bands: tuple[tuple[str, int], ...]
    row_number: int  # the header's row in the file, counting from 1

    @property
    def kind(self) -> CQCFile:
        return self.format.kind


def find_header(rows: Sequence[Sequence[str]]) -> Header:
    """The header among the first rows of a file (notes above it allowed), or WrongFile."""
    for number, row in enumerate(rows[: MAX_PREAMBLE_ROWS + 1], start=1):
        if LOCATION_ID in (normalise(cell) for cell in row):
            return recognise(row, number)
    if not rows:
        raise WrongFile(f"The file is empty. Expected {EXPECTED}.")
    raise WrongFile(f'No "Location ID" column in the first rows of the file. Expected {EXPECTED}.')


def recognise(row: Sequence[str], row_number: int = 1) -> Header:
    """Which file a header row is, or WrongFile saying what is missing."""
    names = [normalise(cell) for cell in row]
    fmt = next((f for f in FORMATS if f.marker in names), None)
    if fmt is None:
        raise WrongFile(
            f'The file has a "Location ID" column but none of "Domain", "Dormant (Y/N)" or '
            f'"Location HSCA End Date", so it is not a file the import reads. Expected {EXPECTED}.'
        )
    positions, missing = {}, []
    for column in fmt.columns:
        found = next((names.index(n) for n in column.names if n in names), None)
        if found is None:
            missing.append(" or ".join(f'"{n}"' for n in column.names))
        else:
            positions[column.key] = found
    if missing:
        raise WrongFile(f"This looks like CQC's {fmt.kind.label.lower()} file but it has no {', no '.join(missing)} column.")
    bands = tuple((row[i].split("-", 1)[1].strip(), i) for i, name in enumerate(names) if name.startswith(BAND_PREFIX))
    return Header(fmt, positions, bands, row_number)
