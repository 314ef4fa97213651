"""The council's own settings, edited by commissioners: name, area and contact details."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class PayBasis(str, enum.Enum):
    """What a visit with actual times is paid on."""

    PLANNED = "planned"
    ACTUAL = "actual"
    LESSER = "lesser"  # the lesser of planned and actual

    @property
    def label(self) -> str:
        return {"planned": "The planned time", "actual": "The actual time", "lesser": "The lesser of planned and actual"}[self.value]


class Rounding(str, enum.Enum):
    UP = "up"
    NEAREST = "nearest"
    DOWN = "down"

    @property
    def label(self) -> str:
        return {"up": "Round up", "nearest": "Round to the nearest", "down": "Round down"}[self.value]


class CouncilSettings(db.Model):
    """A single row (id 1). Until a commissioner saves it, defaults come from config."""

    __tablename__ = "council_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("cancellation_notice_hours >= 0 AND cancellation_notice_hours <= 168", name="notice_in_range"),
        CheckConstraint("request_expiry_hours >= 12 AND request_expiry_hours <= 336", name="request_expiry_in_range"),
        CheckConstraint("unspent_weeks_threshold >= 1 AND unspent_weeks_threshold <= 52", name="unspent_weeks_in_range"),
        CheckConstraint("billing_increment_minutes IN (1, 5, 15)", name="billing_increment_allowed"),
        CheckConstraint("tolerance_minutes >= 0 AND tolerance_minutes <= 120", name="tolerance_in_range"),
        CheckConstraint("confirm_days >= 1 AND confirm_days <= 28", name="confirm_days_in_range"),
        CheckConstraint("payment_run_weeks IN (1, 2, 4)", name="payment_run_weeks_allowed"),
        CheckConstraint("audit_share_percent >= 1 AND audit_share_percent <= 100", name="audit_share_in_range"),
        CheckConstraint("bank_sort_code = '' OR length(bank_sort_code) = 6", name="bank_sort_code_six_digits"),
        CheckConstraint("bank_account_number = '' OR length(bank_account_number) = 8", name="bank_account_number_eight_digits"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), nullable=False)
    contact_email: Mapped[str] = mapped_column(String(254), nullable=False, default="")
    contact_phone: Mapped[str] = mapped_column(String(32), nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    website: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    # Where to report a security problem (/.well-known/security.txt): an email address or an
    # https:// address; '' means the contact email stands in.
    security_contact: Mapped[str] = mapped_column(String(300), nullable=False, default="", server_default="")
    # Cancelling a booked visit is free until this many hours before it starts.
    cancellation_notice_hours: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=24, server_default="24")
    # A booking request the provider has neither accepted nor declined this many hours after
    # it was made expires: its money is released and the person is shown other services.
    request_expiry_hours: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=48, server_default="48")
    # A budget holding more than this many weeks' worth unspent is flagged for a check.
    unspent_weeks_threshold: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=8, server_default="8")
    # Paying for what was delivered (electronic call monitoring rules differ by council).
    pay_basis: Mapped[PayBasis] = mapped_column(
        enum_column(PayBasis, "pay_basis"), nullable=False, default=PayBasis.LESSER, server_default="lesser"
    )
    billing_increment_minutes: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=5, server_default="5")
    rounding: Mapped[Rounding] = mapped_column(
        enum_column(Rounding, "billing_rounding"), nullable=False, default=Rounding.NEAREST, server_default="nearest"
    )
    # A visit whose actual start or length is within this many minutes of the plan is paid as planned.
    tolerance_minutes: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=10, server_default="10")
    # Days the person (or their representative) has to confirm or dispute a delivered visit.
    confirm_days: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=7, server_default="7")
    # Payment runs every 1, 2 or 4 weeks, aligned to the budget periods.
    payment_run_weeks: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=4, server_default="4")
    # The share of personal budgets drawn at random for audit each year (besides those flagged).
    audit_share_percent: Mapped[int] = mapped_column(SmallInteger, nullable=False, default=10, server_default="10")
    # The council's own bank account that payment files are paid from, and its Bacs service user number.
    bank_sort_code: Mapped[str] = mapped_column(String(6), nullable=False, default="", server_default="")
    bank_account_number: Mapped[str] = mapped_column(String(8), nullable=False, default="", server_default="")
    bacs_user_number: Mapped[str] = mapped_column(String(6), nullable=False, default="", server_default="")
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow)


class CouncilDistrict(db.Model):
    """A postcode district in the council's area."""

    __tablename__ = "council_districts"

    outward_code: Mapped[str] = mapped_column(ForeignKey("postcode_districts.outward_code"), primary_key=True)
