"""Bookings: a person books a service, once or weekly; each occurrence is a visit.

The price per unit is fixed when the booking is made. Money for each visit is held in the
ledger (see ``LedgerHold``), captured when the provider records it as delivered, or
released when it is declined or cancelled.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import TimestampMixin, enum_column
from app.models.services import PriceUnit


class PaymentMethod(str, enum.Enum):
    BUDGET = "budget"  # from a personal budget (council-managed account or ISF)
    CARD = "card"  # a prepaid card (direct payment) or the person's own card

    @property
    def label(self) -> str:
        return {"budget": "Personal budget", "card": "Card"}[self.value]


class BookingSchedule(str, enum.Enum):
    ONE_OFF = "one_off"
    WEEKLY = "weekly"

    @property
    def label(self) -> str:
        return {"one_off": "One-off", "weekly": "Every week"}[self.value]


class BookingStatus(str, enum.Enum):
    REQUESTED = "requested"  # waiting for the provider to accept
    ACCEPTED = "accepted"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    COMPLETED = "completed"  # every visit delivered or cancelled
    EXPIRED = "expired"  # the provider neither accepted nor declined it in the council's time

    @property
    def label(self) -> str:
        return {
            "requested": "Waiting for provider",
            "accepted": "Accepted",
            "declined": "Declined",
            "cancelled": "Cancelled",
            "completed": "Completed",
            "expired": "Expired: no answer from the provider",
        }[self.value]

    @property
    def is_open(self) -> bool:
        return self in (BookingStatus.REQUESTED, BookingStatus.ACCEPTED)


class VisitStatus(str, enum.Enum):
    SCHEDULED = "scheduled"  # booked for a period not yet funded: money is held when it is
    HELD = "held"  # money held for it
    SHORT = "short"  # its period was funded but the budget could not cover it
    DELIVERED = "delivered"  # money captured for the provider
    CANCELLED = "cancelled"  # cancelled in time: nothing charged
    LATE_CANCELLED = "late_cancelled"  # cancelled inside the notice window: charged
    DECLINED = "declined"  # the provider declined the booking, or let the request expire
    UNPAID = "unpaid"  # delivered (or cancelled late) but the card charge failed: money still owed
    MISSED = "missed"  # the provider recorded that it did not happen: nothing charged

    @property
    def label(self) -> str:
        return {
            "scheduled": "Booked (paid when the period is funded)",
            "held": "Booked, money set aside",
            "short": "Not enough money in the budget",
            "delivered": "Delivered",
            "cancelled": "Cancelled",
            "late_cancelled": "Cancelled late (charged)",
            "declined": "Declined",
            "unpaid": "Card payment failed: payment due",
            "missed": "Missed (not charged)",
        }[self.value]

    @property
    def is_upcoming(self) -> bool:
        return self in (VisitStatus.SCHEDULED, VisitStatus.HELD, VisitStatus.SHORT)


class Booking(TimestampMixin, db.Model):
    __tablename__ = "bookings"
    __table_args__ = (
        CheckConstraint("unit_price_pence > 0", name="unit_price_positive"),
        CheckConstraint("total_pence > 0", name="total_positive"),
        CheckConstraint(
            "(payment_method = 'budget' AND budget_id IS NOT NULL) OR (payment_method <> 'budget' AND budget_id IS NULL)",
            name="budget_payment_has_budget",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    reference: Mapped[str] = mapped_column(String(12), unique=True, nullable=False)
    # The client's idempotency key for the request that made it: a retried or double-clicked
    # submission finds this booking instead of making a second one.
    request_key: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), nullable=False, index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    booked_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False)
    budget_id: Mapped[int | None] = mapped_column(ForeignKey("personal_budgets.id"), index=True)
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("budget_outcomes.id"))
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_column(PaymentMethod, "payment_method"), nullable=False)
    schedule: Mapped[BookingSchedule] = mapped_column(enum_column(BookingSchedule, "booking_schedule"), nullable=False)
    unit_price_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    price_unit: Mapped[PriceUnit] = mapped_column(enum_column(PriceUnit, "booking_price_unit"), nullable=False)
    total_pence: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[BookingStatus] = mapped_column(
        enum_column(BookingStatus, "booking_status"), nullable=False, default=BookingStatus.REQUESTED, index=True
    )
    message: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Where the visits take place (empty: the person goes to the provider) and a phone number
    # for the provider: shown to its team once it has accepted.
    visit_address: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(32), nullable=False, default="", server_default="")
    # The postcode district the care is for (the visit address's, else the provider's own):
    # all the market reports know of where a booking was, never the address itself.
    area_district: Mapped[str | None] = mapped_column(String(4), index=True)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When both sides were told about the request: set in the same unit of work as the
    # notifications, once (a retried request finds it set and tells nobody again).
    requested_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    service = relationship("Service", lazy="joined")
    provider = relationship("Provider", lazy="joined")
    citizen = relationship("User", foreign_keys=[citizen_id], lazy="joined")
    booked_by = relationship("User", foreign_keys=[booked_by_id])
    budget = relationship("PersonalBudget")
    outcome = relationship("BudgetOutcome")
    visits: Mapped[list[BookingVisit]] = relationship(back_populates="booking", order_by="BookingVisit.starts_at")
    events: Mapped[list[BookingEvent]] = relationship(back_populates="booking", order_by="BookingEvent.id")

    @property
    def cancelled_visits(self) -> list[BookingVisit]:
        """Visits that will not happen and cost nothing: cancelled in time, or declined."""
        return [v for v in self.visits if v.status in (VisitStatus.CANCELLED, VisitStatus.DECLINED, VisitStatus.MISSED)]

    @property
    def cost_now_pence(self) -> int:
        """What the booking costs as things stand: what was charged for visits delivered (in
        part, perhaps) or cancelled too late, and the price of those still to come."""
        charged = (VisitStatus.DELIVERED, VisitStatus.LATE_CANCELLED, VisitStatus.UNPAID)
        return sum(v.charged_pence if v.status in charged else v.amount_pence for v in self.visits if v not in self.cancelled_visits)

    def __repr__(self) -> str:
        return f"<Booking {self.reference} {self.status.value}>"


class BookingVisit(db.Model):
    __tablename__ = "booking_visits"
    __table_args__ = (
        CheckConstraint("units > 0", name="units_positive"),
        CheckConstraint("amount_pence > 0", name="amount_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("delivered_units IS NULL OR (delivered_units >= 0 AND delivered_units <= units)", name="delivered_within_booked"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, index=True)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    units: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    amount_pence: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[VisitStatus] = mapped_column(enum_column(VisitStatus, "visit_status"), nullable=False, index=True)
    delivered_units: Mapped[int | None] = mapped_column(SmallInteger)
    charged_pence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    settled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    booking: Mapped[Booking] = relationship(back_populates="visits")
    record = relationship("VisitRecord", uselist=False, viewonly=True, lazy="select")


class BookingEvent(db.Model):
    """One line of a booking's timeline, seen by both sides."""

    __tablename__ = "booking_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), nullable=False, index=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)

    booking: Mapped[Booking] = relationship(back_populates="events")
    actor = relationship("User")


class CapacityCell(db.Model):
    """How much of a service's capacity is taken in one slice of time.

    A visit takes one place in every cell it covers (15-minute cells for hourly services,
    one cell per day, night or week for the others). The conditional update that takes a
    place is the capacity check, so two people can never take the last place at once.
    """

    __tablename__ = "capacity_cells"
    __table_args__ = (
        CheckConstraint("used >= 0 AND used <= capacity", name="used_within_capacity"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
    )

    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), primary_key=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    capacity: Mapped[int] = mapped_column(Integer, nullable=False)
    used: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
