"""The council's own settings, edited by commissioners: name, area and contact details."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db


class CouncilSettings(db.Model):
    """A single row (id 1). Until a commissioner saves it, defaults come from config."""

    __tablename__ = "council_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("cancellation_notice_hours >= 0 AND cancellation_notice_hours <= 168", name="notice_in_range"),
        CheckConstraint("unspent_weeks_threshold >= 1 AND unspent_weeks_threshold <= 52", name="unspent_weeks_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    website: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # Cancelling a booked visit is free until this many hours before it starts.
    cancellation_notice_hours: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=24, server_default="24")
    # A budget holding more than this many weeks' worth unspent is flagged for a check.
    unspent_weeks_threshold: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=8, server_default="8")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class CouncilDistrict(db.Model):
    """A postcode district in the council's area."""

    __tablename__ = "council_districts"

    outward_code: Mapped[str] = mapped_column(ForeignKey("postcode_districts.outward_code"), primary_key=True)
