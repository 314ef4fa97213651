"""What the council's market reports keep beside the live records: spend facts (a kept
aggregate of the ledger), requests turned away, reference rates and the Market Position
Statement's own words."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column
from app.models.services import PriceUnit


class WayOfPaying(str, enum.Enum):
    """How the money for a piece of care reached the provider."""

    MANAGED = "managed"  # a council-managed personal budget account
    ISF = "isf"  # an Individual Service Fund held with the provider
    DIRECT_PAYMENT = "direct_payment"  # a direct payment on a council prepaid card
    SELF_FUNDED = "self_funded"  # the person's own money

    @property
    def label(self) -> str:
        return _WAY_LABELS[self]


_WAY_LABELS = {
    WayOfPaying.MANAGED: "Council-managed budget",
    WayOfPaying.ISF: "Individual Service Fund",
    WayOfPaying.DIRECT_PAYMENT: "Direct payment (prepaid card)",
    WayOfPaying.SELF_FUNDED: "Paying for themselves",
}


class SpendFact(db.Model):
    """One ledger entry that changed what a provider is owed for care (a capture, a card
    payment passed on, a refund taken back), with what it was for.

    Written in the same database transaction as the entry itself (services/reports/
    spend_facts.py), never edited; `flask ledger check` proves the facts match the ledger
    entry for entry. The spend, price and concentration reports read these, not the ledger.
    """

    __tablename__ = "spend_facts"
    __table_args__ = (
        CheckConstraint("amount_pence <> 0", name="amount_not_zero"),
        Index("ix_spend_facts_month_category", "month", "category_id"),
        Index("ix_spend_facts_month_provider", "month", "provider_id"),
    )

    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), primary_key=True, autoincrement=False)
    effective_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    month: Mapped[dt.date] = mapped_column(Date, nullable=False)  # the UK calendar month it happened in
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, index=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("booking_visits.id"), nullable=False)
    way: Mapped[WayOfPaying] = mapped_column(enum_column(WayOfPaying, "spend_way_of_paying"), nullable=False)
    district: Mapped[str | None] = mapped_column(String(4))
    amount_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)


class TurnedAwayRequest(db.Model):
    """A booking someone tried to make that the service had no room for. Anonymous: what,
    where and when, never who, so that unmet demand can be counted."""

    __tablename__ = "turned_away_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    district: Mapped[str | None] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(40), nullable=False, default="fully_booked")


class ReferenceRate(db.Model):
    """The price the council measures listed and paid prices against, for one type of
    support and unit, with where it came from ("Fair Cost of Care median 2025-26")."""

    __tablename__ = "reference_rates"
    __table_args__ = (
        UniqueConstraint("category_id", "price_unit"),
        CheckConstraint("rate_pence > 0 AND rate_pence <= 500000", name="rate_in_range"),
        CheckConstraint("length(trim(source)) > 0", name="source_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    price_unit: Mapped[PriceUnit] = mapped_column(enum_column(PriceUnit, "reference_rate_unit"), nullable=False)
    rate_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    source: Mapped[str] = mapped_column(String(200), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    category = relationship("Category", lazy="joined")


class Intention(str, enum.Enum):
    """What the council wants of one type of support."""

    MORE = "more"
    SAME = "same"
    LESS = "less"
    CHANGE = "change"  # the same amount, provided differently

    @property
    def label(self) -> str:
        return _INTENTION_LABELS[self]


_INTENTION_LABELS = {
    Intention.MORE: "We want more",
    Intention.SAME: "We want about the same",
    Intention.LESS: "We want less",
    Intention.CHANGE: "We want it provided differently",
}


class MarketPosition(db.Model):
    """A version of the Market Position Statement's narrative. The newest published one is
    what the public page shows; the newest unpublished one is the draft being written."""

    __tablename__ = "market_positions"
    __table_args__ = (CheckConstraint("length(trim(title)) > 0", name="title_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    introduction: Mapped[str] = mapped_column(Text, nullable=False, default="")
    intentions: Mapped[str] = mapped_column(Text, nullable=False, default="")  # the council's overall intentions
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    sections: Mapped[list[MarketPositionSection]] = relationship(
        back_populates="position", cascade="all, delete-orphan", order_by="MarketPositionSection.category_id"
    )
    published_by = relationship("User", foreign_keys=[published_by_id])


class MarketPositionSection(db.Model):
    """What the council says to providers about one type of support."""

    __tablename__ = "market_position_sections"
    __table_args__ = (UniqueConstraint("position_id", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    position_id: Mapped[int] = mapped_column(ForeignKey("market_positions.id", ondelete="CASCADE"), nullable=False)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), nullable=False)
    intention: Mapped[Intention | None] = mapped_column(enum_column(Intention, "market_intention"))
    text: Mapped[str] = mapped_column(Text, nullable=False, default="")

    position: Mapped[MarketPosition] = relationship(back_populates="sections")
    category = relationship("Category", lazy="joined")
