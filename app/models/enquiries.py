"""Enquiries: a question about a service before booking, as a thread between the citizen
(and their representatives) and the provider's team."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class EnquiryStatus(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Enquiry(db.Model):
    __tablename__ = "enquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False, index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    # The person the enquiry is for (a citizen), and who wrote the first message (the
    # citizen or one of their representatives).
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    started_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    subject: Mapped[str] = mapped_column(String(160), nullable=False)
    status: Mapped[EnquiryStatus] = mapped_column(enum_column(EnquiryStatus, "enquiry_status"), nullable=False, default=EnquiryStatus.OPEN)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    last_message_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # The provider's first reply: how quickly providers answer is measured from these.
    first_response_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Whether the newest message is the provider's (False: waiting for the provider).
    awaiting_citizen: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    citizen_read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    provider_read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    service = relationship("Service", lazy="joined")
    provider = relationship("Provider", lazy="joined")
    citizen = relationship("User", foreign_keys=[citizen_id], lazy="joined")
    started_by = relationship("User", foreign_keys=[started_by_id], lazy="joined")
    messages: Mapped[list[EnquiryMessage]] = relationship(
        back_populates="enquiry", order_by="EnquiryMessage.id", cascade="all, delete-orphan"
    )

    def status_for(self, side: str) -> str:
        """The one status both the list and the enquiry page show, in words for ``side``
        ("citizen" or "provider"): closed, or open and whose turn it is to write."""
        if self.status is EnquiryStatus.CLOSED:
            return "Closed"
        if side == "provider":
            return "Replied: waiting for them" if self.awaiting_citizen else "Waiting for your reply"
        return "Replied" if self.awaiting_citizen else "Waiting for the provider"

    @property
    def unread_for_citizen(self) -> bool:
        return self.citizen_read_at is None or self.citizen_read_at < self.last_message_at

    @property
    def unread_for_provider(self) -> bool:
        return self.provider_read_at is None or self.provider_read_at < self.last_message_at


class EnquiryMessage(db.Model):
    __tablename__ = "enquiry_messages"
    __table_args__ = (CheckConstraint("length(trim(body)) > 0", name="body_not_blank"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enquiry_id: Mapped[int] = mapped_column(ForeignKey("enquiries.id", ondelete="CASCADE"), nullable=False, index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    from_provider: Mapped[bool] = mapped_column(Boolean, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    enquiry: Mapped[Enquiry] = relationship(back_populates="messages")
    author = relationship("User", lazy="joined")
