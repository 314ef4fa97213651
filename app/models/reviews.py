"""Reviews from the people who used a service: verified (only someone whose visit of that
booking was delivered in the last 12 months may write one), once per booking, an overall
rating and three short questions, published after 7 days or when the provider replies,
whichever is first. The provider sees a review at once and may reply once, publicly."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, Text
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
    reply_text: Mapped[str] = mapped_column(Text, nullable=False, default="")
    replied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    booking = relationship("Booking")
    service = relationship("Service")
    provider = relationship("Provider")
    author = relationship("User", foreign_keys=[author_id])

    def published(self, now: dt.datetime) -> bool:
        return self.publishes_at <= now

    def answers(self) -> list[tuple[str, ReviewAnswer]]:
        """(heading, answer) for each of the three questions."""
        return [(heading, getattr(self, column)) for column, _, heading in REVIEW_QUESTIONS]
