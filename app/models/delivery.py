"""What was delivered: each visit's record (actual times, or missed with a reason), the
checks on it (an exception outside the council's tolerance, the person's confirmation or
dispute) and the electronic call monitoring (ECM) files providers upload.

A visit's money stays held until its record is settled: a record inside the tolerance is
paid at once (the hold captured into what the council owes the provider); one outside it
waits in the commissioner's exceptions queue; a missed visit releases the money. A dispute
raised after payment keeps the visit out of any payment run until a commissioner settles it.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class VisitOutcome(str, enum.Enum):
    DELIVERED = "delivered"
    MISSED = "missed"

    @property
    def label(self) -> str:
        return {"delivered": "Delivered", "missed": "Missed"}[self.value]


class RecordSource(str, enum.Enum):
    FORM = "form"  # recorded on the visits page or the booking's page
    UPLOAD = "upload"  # from an ECM export

    @property
    def label(self) -> str:
        return {"form": "Recorded by the provider", "upload": "Electronic call monitoring file"}[self.value]


class ExceptionState(str, enum.Enum):
    NONE = "none"  # inside the tolerance: paid by the council's rules
    OPEN = "open"  # outside it: waiting for a commissioner
    PAID_AS_RECORDED = "paid_as_recorded"
    PAID_AS_PLANNED = "paid_as_planned"
    NOT_PAID = "not_paid"

    @property
    def label(self) -> str:
        return {
            "none": "Inside the tolerance",
            "open": "Waiting for the council",
            "paid_as_recorded": "Paid as recorded",
            "paid_as_planned": "Paid as planned",
            "not_paid": "Not paid",
        }[self.value]


class DisputeState(str, enum.Enum):
    NONE = "none"
    CONFIRMED = "confirmed"  # the person said it happened as recorded
    OPEN = "open"  # the person said it did not: held out of payment
    UPHELD = "upheld"  # the council agreed with the person: money taken back
    REJECTED = "rejected"  # the council found the record right: paid

    @property
    def label(self) -> str:
        return {
            "none": "Not confirmed yet",
            "confirmed": "Confirmed",
            "open": "Disputed: held out of payment",
            "upheld": "Dispute upheld",
            "rejected": "Dispute not upheld",
        }[self.value]


class EcmUpload(db.Model):
    """One ECM export a provider uploaded, taken whole (a file refused leaves no row). The
    same file again (by its SHA-256) finds this row and records nothing twice."""

    __tablename__ = "ecm_uploads"
    __table_args__ = (UniqueConstraint("provider_id", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    filename: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    row_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    recorded_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # rows new to us

    uploaded_by = relationship("User")


class VisitRecord(db.Model):
    """A visit's record: one per visit, written once (a correction is a commissioner's
    decision or a dispute, never an edit of the times)."""

    __tablename__ = "visit_records"
    __table_args__ = (
        CheckConstraint(
            "(outcome = 'delivered' AND actual_start IS NOT NULL AND actual_end IS NOT NULL AND actual_end > actual_start) OR "
            "(outcome = 'missed' AND actual_start IS NULL AND actual_end IS NULL AND length(trim(missed_reason)) > 0)",
            name="times_or_reason",
        ),
        CheckConstraint("paid_units_minutes IS NULL OR paid_units_minutes >= 0", name="paid_minutes_not_negative"),
        CheckConstraint("outcome = 'delivered' OR (exception_state = 'none' AND dispute_state = 'none')", name="missed_not_checked"),
        Index(
            "ix_visit_records_open_disputes",
            "visit_id",
            sqlite_where=text("dispute_state = 'open'"),
            postgresql_where=text("dispute_state = 'open'"),
        ),
        Index("ix_visit_records_exception_state", "exception_state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("booking_visits.id"), nullable=False, unique=True)
    outcome: Mapped[VisitOutcome] = mapped_column(enum_column(VisitOutcome, "visit_outcome"), nullable=False)
    actual_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    actual_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    carer_ref: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    missed_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    source: Mapped[RecordSource] = mapped_column(enum_column(RecordSource, "visit_record_source"), nullable=False)
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("ecm_uploads.id"), index=True)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    # What the council's rules made of it, in minutes (hourly services) and pence; the rule
    # applied, in words, for the remittance and the exceptions queue.
    planned_minutes: Mapped[int | None] = mapped_column(Integer)
    paid_units_minutes: Mapped[int | None] = mapped_column(Integer)
    rule_note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    exception_state: Mapped[ExceptionState] = mapped_column(
        enum_column(ExceptionState, "visit_exception_state"), nullable=False, default=ExceptionState.NONE
    )
    exception_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    decision_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    dispute_state: Mapped[DisputeState] = mapped_column(
        enum_column(DisputeState, "visit_dispute_state"), nullable=False, default=DisputeState.NONE
    )
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispute_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    disputed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disputed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispute_note: Mapped[str] = mapped_column(Text, nullable=False, default="")  # the commissioner's reason
    dispute_settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    dispute_settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the council took back when it upheld a dispute (pence).
    taken_back_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")

    visit = relationship("BookingVisit", lazy="joined")
    upload = relationship("EcmUpload")
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])

    @property
    def minutes(self) -> int | None:
        if self.actual_start is None or self.actual_end is None:
            return None
        return int((self.actual_end - self.actual_start).total_seconds() // 60)
