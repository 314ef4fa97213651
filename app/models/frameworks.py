"""The council's framework: lots by category, weights for ranking, and membership.

Framework membership is a badge and a ranking signal, never a gate: people may book any
verified provider with their budget, on the framework or not.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, Date, ForeignKey, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import TimestampMixin, enum_column

DEFAULT_QUALITY_WEIGHT = 60
DEFAULT_PRICE_WEIGHT = 40
# How much of a lot's quality score comes from reviews by people who used the service (0:
# CQC alone), and how many reviews' worth of the lot's average each service's own reviews
# are weighed with (a Bayesian average: a few reviews move a service less than many).
DEFAULT_REVIEW_WEIGHT = 0
DEFAULT_REVIEW_MINIMUM = 10
MAX_REVIEW_MINIMUM = 1000


class Framework(TimestampMixin, db.Model):
    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True, nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date | None] = mapped_column(Date)

    lots: Mapped[list[FrameworkLot]] = relationship(back_populates="framework", order_by="FrameworkLot.id", cascade="all, delete-orphan")

    __table_args__ = (CheckConstraint("ends_on IS NULL OR ends_on > starts_on", name="ends_after_start"),)


class FrameworkLot(TimestampMixin, db.Model):
    """One category of the framework, with the commissioner's quality/price weights and how
    much of quality comes from reviews."""

    __tablename__ = "framework_lots"
    __table_args__ = (
        CheckConstraint("quality_weight >= 0 AND quality_weight <= 100", name="quality_weight_range"),
        CheckConstraint("price_weight >= 0 AND price_weight <= 100", name="price_weight_range"),
        CheckConstraint("quality_weight + price_weight = 100", name="weights_sum_to_100"),
        CheckConstraint("review_weight >= 0 AND review_weight <= 100", name="review_weight_range"),
        CheckConstraint(f"review_minimum >= 0 AND review_minimum <= {MAX_REVIEW_MINIMUM}", name="review_minimum_range"),
        UniqueConstraint("framework_id", "category_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(ForeignKey("frameworks.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    quality_weight: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=DEFAULT_QUALITY_WEIGHT)
    price_weight: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=DEFAULT_PRICE_WEIGHT)
    # The share of the quality score from reviews (the rest from CQC), and the minimum.
    review_weight: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=DEFAULT_REVIEW_WEIGHT, server_default="0")
    review_minimum: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=DEFAULT_REVIEW_MINIMUM, server_default="10")

    framework: Mapped[Framework] = relationship(back_populates="lots")
    category = relationship("Category", lazy="joined")
    memberships: Mapped[list[FrameworkMembership]] = relationship(back_populates="lot")


class MembershipStatus(str, enum.Enum):
    APPROVED = "approved"
    SUSPENDED = "suspended"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class FrameworkMembership(db.Model):
    """A provider's place on one lot of the framework."""

    __tablename__ = "framework_memberships"
    __table_args__ = (UniqueConstraint("lot_id", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("framework_lots.id"), nullable=False)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    status: Mapped[MembershipStatus] = mapped_column(
        enum_column(MembershipStatus, "membership_status"), nullable=False, default=MembershipStatus.APPROVED
    )
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    lot: Mapped[FrameworkLot] = relationship(back_populates="memberships", lazy="joined")
    provider = relationship("Provider", back_populates="memberships")

    @property
    def is_approved(self) -> bool:
        return self.status is MembershipStatus.APPROVED
