"""The council's own settings, edited by commissioners: name, area and contact details."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db


class CouncilSettings(db.Model):
    """A single row (id 1). Until a commissioner saves it, defaults come from config."""

    __tablename__ = "council_settings"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    website: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class CouncilDistrict(db.Model):
    """A postcode district in the council's area."""

    __tablename__ = "council_districts"

    outward_code: Mapped[str] = mapped_column(ForeignKey("postcode_districts.outward_code"), primary_key=True)
