"""Closures: dates a provider does not work (bank holidays, training days)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db


class ServiceClosure(db.Model):
    """Closed from ``starts_on`` to ``ends_on`` inclusive: one service, or every service
    of the provider when ``service_id`` is empty."""

    __tablename__ = "service_closures"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_on_or_after_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), index=True)
    starts_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(Date, nullable=False)
    reason: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    service = relationship("Service", lazy="joined")

    @property
    def applies_to_all_services(self) -> bool:
        return self.service_id is None
