"""CQC's own data, read from the files CQC publishes every month: each import of a file,
every change of a provider's rating it made (from what to what, as published on which
date), and the locations CQC says it has deregistered.

A deregistration is kept by CQC location id, not on the provider: a provider is flagged
while the location id it gives is one CQC has deregistered, so a provider that moves to a
new registration stops being flagged without anyone clearing anything.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column
from app.models.providers import KEY_QUESTIONS, CQCRating


class CQCFile(str, enum.Enum):
    """Which of CQC's monthly files was read."""

    RATINGS = "ratings"  # Care directory with ratings: the Locations sheet of "Latest ratings"
    FILTERS = "filters"  # Care directory with filters: HSCA_Active_Locations
    DEACTIVATED = "deactivated"  # Deactivated locations

    @property
    def label(self) -> str:
        return _FILE_LABELS[self]


_FILE_LABELS = {
    CQCFile.RATINGS: "Care directory with ratings",
    CQCFile.FILTERS: "Care directory with filters",
    CQCFile.DEACTIVATED: "Deactivated locations",
}


class CQCQuestion(str, enum.Enum):
    """A rating CQC gives a location: overall, or one of its five key questions."""

    OVERALL = "overall"
    SAFE = "safe"
    EFFECTIVE = "effective"
    CARING = "caring"
    RESPONSIVE = "responsive"
    WELL_LED = "well_led"

    @property
    def label(self) -> str:
        return "Overall" if self is CQCQuestion.OVERALL else dict(KEY_QUESTIONS)[self.value]

    @property
    def provider_field(self) -> str:
        """The provider's column that holds this rating."""
        return f"cqc_{self.value}"


class CQCImportRun(db.Model):
    """One import of one of CQC's files, with what it did. A file is imported once: a
    second finished run of the same bytes (same SHA-256) is refused by the database."""

    __tablename__ = "cqc_import_runs"
    __table_args__ = (
        CheckConstraint("length(file_sha256) = 64", name="sha256_length"),
        CheckConstraint(
            "rows_read >= 0 AND locations_matched >= 0 AND ratings_changed >= 0 AND providers_changed >= 0 "
            "AND unknown_locations >= 0 AND deregistered >= 0 AND rows_skipped >= 0",
            name="counts_not_negative",
        ),
        CheckConstraint("finished_at IS NULL OR finished_at >= started_at", name="finished_after_started"),
        Index(
            "uq_cqc_import_runs_file_finished",
            "file_sha256",
            unique=True,
            sqlite_where=text("finished_at IS NOT NULL"),
            postgresql_where=text("finished_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    file_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[CQCFile] = mapped_column(enum_column(CQCFile, "cqc_file"), nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    rows_read: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # unreadable rows, reported
    locations_matched: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    providers_changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    ratings_changed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    unknown_locations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    deregistered: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class CQCRatingChange(db.Model):
    """A provider's CQC rating changed by an import: which rating, from what to what
    (none: no rating), and the date CQC published the new one."""

    __tablename__ = "cqc_rating_changes"
    __table_args__ = (
        CheckConstraint(
            "(from_rating IS NOT NULL OR to_rating IS NOT NULL) AND (from_rating IS NULL OR to_rating IS NULL OR from_rating <> to_rating)",
            name="a_real_change",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), nullable=False, index=True)
    location_id: Mapped[str] = mapped_column(String(20), nullable=False)
    question: Mapped[CQCQuestion] = mapped_column(enum_column(CQCQuestion, "cqc_question"), nullable=False)
    from_rating: Mapped[CQCRating | None] = mapped_column(enum_column(CQCRating, "cqc_from_rating"))
    to_rating: Mapped[CQCRating | None] = mapped_column(enum_column(CQCRating, "cqc_to_rating"))
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    run_id: Mapped[int] = mapped_column(ForeignKey("cqc_import_runs.id"), nullable=False, index=True)

    provider = relationship("Provider")
    run = relationship(CQCImportRun)


class CQCDeregistration(db.Model):
    """A CQC location that CQC's deactivated locations file says is no longer registered,
    seen when it was the location of one of our providers."""

    __tablename__ = "cqc_deregistrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id", ondelete="CASCADE"), nullable=False, index=True)
    deregistered_on: Mapped[dt.date | None] = mapped_column(Date)  # CQC's "Location HSCA End Date"
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    run_id: Mapped[int] = mapped_column(ForeignKey("cqc_import_runs.id"), nullable=False)

    provider = relationship("Provider")
