"""What an import did, as figures and as the lines the command prints."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from app.formatting import format_datetime, pluralise
from app.models import CQCFile
from app.services.cqc.reading import Problem

SHOWN = 20  # unknown location ids and problems listed; the rest are counted


@dataclass
class ImportSummary:
    file_name: str
    kind: CQCFile
    already_imported_at: dt.datetime | None = None  # the same file's earlier import: nothing done
    run_id: int | None = None
    rows_read: int = 0
    rows_skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    locations_matched: int = 0
    providers_changed: int = 0
    ratings_changed: int = 0
    older: int = 0
    listings_given_groups: int = 0
    unknown_ids: list[str] = field(default_factory=list)
    unknown_count: int = 0
    deregistered: int = 0
    dormant_ids: list[str] = field(default_factory=list)
    ours_not_in_file: int = 0
    finished_elsewhere: bool = False  # another import of the same file finished first

    @property
    def changed(self) -> bool:
        return bool(self.providers_changed or self.listings_given_groups or self.deregistered)

    def lines(self) -> list[str]:
        """The summary the command prints, in plain words."""
        if self.already_imported_at is not None:
            return [f"{self.file_name} was already imported on {format_datetime(self.already_imported_at)}: nothing changed."]
        lines = [
            f"Read {self.file_name} as CQC's {self.kind.label.lower()} file.",
            f"Rows read: {self.rows_read:,}" + (f" ({self.rows_skipped:,} could not be used)" if self.rows_skipped else ""),
            f"Locations matched to our providers: {self.locations_matched:,}",
        ]
        if self.kind is not CQCFile.DEACTIVATED:
            lines.append(f"Ratings changed: {self.ratings_changed:,} ({pluralise(self.providers_changed, 'provider')} updated)")
        if self.kind is CQCFile.FILTERS:
            lines.append("This file gives overall ratings only: import the care directory with ratings for the five key questions.")
            lines.append(f"Listings given groups of people from CQC's service user bands: {self.listings_given_groups:,}")
        if self.older:
            lines.append(f"Passed over as older than the ratings we hold: {pluralise(self.older, 'location')}")
        if self.kind is CQCFile.DEACTIVATED:
            lines.append(f"Providers newly flagged as deregistered by CQC: {self.deregistered:,}")
        elif self.ours_not_in_file:
            lines.append(
                f"Our providers' locations not in this file: {self.ours_not_in_file:,} "
                "(not taken as deregistered: only CQC's deactivated locations file says that)"
            )
        if self.dormant_ids:
            lines.append(f"Marked dormant by CQC (registered, not providing care now): {', '.join(self.dormant_ids)}")
        lines += self._unknown_lines() + self._problem_lines()
        if self.finished_elsewhere:
            lines.append("Another import of the same file finished first: each change was made once, by one or the other.")
        if not self.changed:
            lines.append("Nothing changed.")
        return lines

    def _unknown_lines(self) -> list[str]:
        if not self.unknown_count:
            return []
        more = self.unknown_count - len(self.unknown_ids)
        return [
            f"Location ids no provider of ours has: {self.unknown_count:,} (left alone, not matched by name or address)",
            "  " + ", ".join(self.unknown_ids) + (f" and {more:,} more" if more > 0 else ""),
        ]

    def _problem_lines(self) -> list[str]:
        if not self.problem_count:
            return []
        lines = [f"Problems: {self.problem_count:,}"]
        lines += [f"  row {p.row}{f' ({p.location_id})' if p.location_id else ''}: {p.message}" for p in self.problems[:SHOWN]]
        if self.problem_count > SHOWN:
            lines.append(f"  and {self.problem_count - SHOWN:,} more")
        return lines
