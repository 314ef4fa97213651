"""People who sign in: citizens, representatives, provider staff, commissioners, admins."""

from __future__ import annotations

import datetime as dt
import enum

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, String
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


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lower_case"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(120), nullable=False)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"), nullable=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    last_signed_in_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_active(self) -> bool:  # Flask-Login: deactivated accounts cannot sign in
        return bool(self.active)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role.value}>"
