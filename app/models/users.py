"""People who sign in: citizens, representatives, provider staff, commissioners, admins."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime
from app.extensions import db
from app.models.base import TimestampMixin, enum_column


class Role(str, enum.Enum):
    """What an account is for. Each account has exactly one role."""

    CITIZEN = "citizen"  # a budget holder or self-funder, arranging their own support
    REPRESENTATIVE = "representative"  # acts for one or more citizens who invited them
    PROVIDER = "provider"  # staff of one provider organisation (owner, manager or staff)
    COMMISSIONER = "commissioner"  # a council officer running the market
    ADMIN = "admin"  # runs the service itself

    @property
    def label(self) -> str:
        return self.value.capitalize()


class CitizenFunding(str, enum.Enum):
    """How a citizen pays for care, as they told us (the council's budget records decide
    what a budget holder may spend; this is what the person expects)."""

    PERSONAL_BUDGET = "personal_budget"  # the council has given them a personal budget
    SELF_FUNDER = "self_funder"  # they pay for their own care

    @property
    def label(self) -> str:
        return {"personal_budget": "Council personal budget", "self_funder": "Paying for my own care"}[self.value]


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        CheckConstraint("citizen_funding IS NULL OR role = 'citizen'", name="funding_only_for_citizens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), nullable=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_signed_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Added by migration 0004.
    citizen_funding: Mapped[CitizenFunding | None] = mapped_column(enum_column(CitizenFunding, "citizen_funding"))
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Two-step verification: the TOTP secret once confirmed, encrypted (a Fernet token: see
    # services/totp_encryption), and the last time step accepted (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(Integer)

    # The server-side session this request was loaded through (set by the user loader;
    # never stored). Flask-Login keeps it in the cookie instead of the user id, so ending
    # the session row on the server ends the sign-in wherever the cookie is.
    session_token = None  # type: str | None  (plain attribute, not a column)

    def get_id(self) -> str | None:  # Flask-Login
        return self.session_token

    @property
    def two_step_enabled(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    @property
    def is_citizen(self) -> bool:
        return self.role is Role.CITIZEN

    @property
    def is_representative(self) -> bool:
        return self.role is Role.REPRESENTATIVE

    @property
    def is_provider_staff(self) -> bool:
        return self.role is Role.PROVIDER

    @property
    def arranges_care(self) -> bool:
        """Citizens and representatives: the people who book and ask providers questions."""
        return self.role in (Role.CITIZEN, Role.REPRESENTATIVE)

    @property
    def is_council(self) -> bool:
        """Commissioners and admins: the council's own people."""
        return self.role in (Role.COMMISSIONER, Role.ADMIN)

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot sign in
        return bool(self.active)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"
