"""Reviews from the people who used a service: verified (only someone whose visit of that
booking was delivered in the last 12 months may write one), once per booking, an overall
rating and three short questions, published after 7 days or when the provider replies,
whichever is first. The provider sees a review at once and may reply once, publicly."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class ReviewAnswer(str, enum.Enum):
    YES = "yes"
    PARTLY = "partly"
    NO = "no"

    @property
    def label(self) -> str:
        return {"yes": "Yes", "partly": "Partly", "no": "No"}[self.value]


class RemovalReason(str, enum.Enum):
    """The only reasons a review may be taken down (the published review policy)."""

    PERSONAL_DATA = "personal_data"
    ABUSE = "abuse"
    UNRELATED = "unrelated"
    CONFLICT_OF_INTEREST = "conflict_of_interest"

    @property
    def label(self) -> str:
        return {
            "personal_data": "It contains personal data",
            "abuse": "It is abusive, threatening or discriminatory",
            "unrelated": "It is not about the service or the care received",
            "conflict_of_interest": "It was written by someone with a conflict of interest",
        }[self.value]


class ReportOutcome(str, enum.Enum):
    REMOVED = "removed"
    KEPT = "kept"

    @property
    def label(self) -> str:
        return {"removed": "Review taken down", "kept": "Review kept: it does not break the policy"}[self.value]


# The three short questions: (column, question asked, heading shown on a published review).
REVIEW_QUESTIONS = (
    ("on_time", "Did they arrive and leave on time?", "Arrived and left on time"),
    ("dignity", "Were you treated with dignity and respect?", "Treated with dignity and respect"),
    ("outcomes", "Did they help you towards the outcomes in your support plan?", "Helped towards the outcomes in the support plan"),
)


class Review(db.Model):
    __tablename__ = "reviews"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),
        Index("ix_reviews_service_created", "service_id", "created_at"),
        Index("ix_reviews_provider_created", "provider_id", "created_at"),
        Index("ix_reviews_to_count", "publishes_at", postgresql_where=text("counted_at IS NULL"), sqlite_where=text("counted_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, unique=True)  # once per booking
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)  # whose care it was
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)  # the person or their representative
    rating: Mapped[int] = mapped_column(Integer, nullable=False)
    on_time: Mapped[ReviewAnswer] = mapped_column(enum_column(ReviewAnswer, "review_on_time"), nullable=False)
    dignity: Mapped[ReviewAnswer] = mapped_column(enum_column(ReviewAnswer, "review_dignity"), nullable=False)
    outcomes: Mapped[ReviewAnswer] = mapped_column(enum_column(ReviewAnswer, "review_outcomes"), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    publishes_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)  # 7 days on, or sooner on a reply
    # When the review entered its service's totals (services.review_count and review_sum),
    # which search and the framework ranking read; it leaves them if taken down.
    counted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reply_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Taken down by a commissioner for breaking the review policy (never for being negative).
    removed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removed_reason: Mapped[RemovalReason | None] = mapped_column(enum_column(RemovalReason, "review_removed_reason"))
    removed_note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    booking = relationship("Booking")
    service = relationship("Service")
    provider = relationship("Provider")
    author = relationship("User", foreign_keys=[author_id])

    def published(self, now: dt.datetime) -> bool:
        return self.publishes_at <= now and self.removed_at is None

    def answers(self) -> list[tuple[str, ReviewAnswer]]:
        """(heading, answer) for each of the three questions."""
        return [(heading, getattr(self, column)) for column, _, heading in REVIEW_QUESTIONS]


class ReviewReport(db.Model):
    """A provider's report that a review breaks the policy, and the council's decision."""

    __tablename__ = "review_reports"
    __table_args__ = (
        Index("ix_review_reports_review", "review_id"),
        Index("ix_review_reports_open", "decided_at"),
        CheckConstraint("(decided_at IS NULL) = (outcome IS NULL)", name="decided_with_outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), nullable=False)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    reason: Mapped[RemovalReason] = mapped_column(enum_column(RemovalReason, "review_report_reason"), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    outcome: Mapped[ReportOutcome | None] = mapped_column(enum_column(ReportOutcome, "review_report_outcome"))
    decision_note: Mapped[str] = mapped_column(Text, nullable=False, default="")

    review = relationship("Review")
    reported_by = relationship("User", foreign_keys=[reported_by_id])
