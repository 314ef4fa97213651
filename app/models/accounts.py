"""What signing in needs besides the user: server-side sessions, single-use tokens,
recovery codes, failed sign-ins, invitations, representation and provider staff."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import UTCDateTime, utcnow
from app.extensions import db
from app.models.base import enum_column


class UserSession(db.Model):
    """One sign-in on one device. The cookie holds a random token; we keep its hash.
    Ending the row (sign out, password change, sign out everywhere, timeout) ends the
    sign-in wherever the cookie has gone."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    ip_address: Mapped[str] = mapped_column(String(45), nullable=False, default="")

    user = relationship("User", lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class TokenPurpose(str, enum.Enum):
    PASSWORD_RESET = "password_reset"  # "forgot your password" and "set your password" links
    EMAIL_CHANGE = "email_change"  # confirming a new email address, sent to that address


class AccountToken(db.Model):
    """A single-use, expiring token sent by email. Only its SHA-256 is stored."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(enum_column(TokenPurpose, "token_purpose"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # EMAIL_CHANGE only: the address that replaces the account's once the link is opened.
    new_email: Mapped[str | None] = mapped_column(String(254))

    user = relationship("User", lazy="joined")


class RecoveryCode(db.Model):
    """A one-time code for two-step verification when the authenticator app is lost."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class SignInFailure(db.Model):
    """A failed sign-in, kept for a day to spot bursts (which go to the audit trail)."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    ip_address: Mapped[str] = mapped_column(String(45), nullable=False, default="", index=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)


class OrgRole(str, enum.Enum):
    """What a member of a provider's team may do."""

    OWNER = "owner"  # everything, including the team's owners and managers
    MANAGER = "manager"  # the profile, listings, hours, closures, enquiries, and staff
    STAFF = "staff"  # answers enquiries; sees listings

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def rank(self) -> int:
        return {"owner": 3, "manager": 2, "staff": 1}[self.value]

    @property
    def description(self) -> str:
        return {
            "owner": "Can do everything, including managing owners and managers",
            "manager": "Can edit the profile, listings, hours and closures, answer enquiries and manage staff",
            "staff": "Can answer enquiries and see listings",
        }[self.value]


class ProviderStaff(db.Model):
    """A person's place in one provider organisation's team (one organisation each)."""

    __tablename__ = "provider_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("providers.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, unique=True)
    org_role: Mapped[OrgRole] = mapped_column(enum_column(OrgRole, "org_role"), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    user = relationship("User", lazy="joined")
    provider = relationship("Provider", lazy="joined")


class Representation(db.Model):
    """A representative acting for a citizen who invited them. Ended, never deleted."""

    __tablename__ = "representations"
    __table_args__ = (
        CheckConstraint("citizen_id <> representative_id", name="not_self"),
        Index(
            "uq_representations_active_pair",
            "citizen_id",
            "representative_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    representative_id: Mapped[int] = mapped_column(ForeignKey("users.id"), nullable=False, index=True)
    relationship_to_citizen: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    citizen = relationship("User", foreign_keys=[citizen_id], lazy="joined")
    representative = relationship("User", foreign_keys=[representative_id], lazy="joined")

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class InvitationKind(str, enum.Enum):
    REPRESENTATIVE = "representative"  # a citizen asks someone to act for them
    PROVIDER_STAFF = "provider_staff"  # a provider adds someone to its team


class InvitationStatus(str, enum.Enum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class Invitation(db.Model):
    """An emailed invitation with a single-use token (only its hash is stored)."""

    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'representative' AND citizen_id IS NOT NULL AND provider_id IS NULL)"
            " OR (kind = 'provider_staff' AND provider_id IS NOT NULL AND org_role IS NOT NULL AND citizen_id IS NULL)",
            name="kind_has_its_target",
        ),
        UniqueConstraint("token_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[InvitationKind] = mapped_column(enum_column(InvitationKind, "invitation_kind"), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False, index=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    # None: sent by the marketplace itself (an invitation to claim a provider nobody has signed up for).
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("providers.id"), index=True)
    org_role: Mapped[OrgRole | None] = mapped_column(enum_column(OrgRole, "invitation_org_role"))
    relationship_to_citizen: Mapped[str] = mapped_column(String(80), nullable=False, default="")
    status: Mapped[InvitationStatus] = mapped_column(
        enum_column(InvitationStatus, "invitation_status"), nullable=False, default=InvitationStatus.PENDING
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    invited_by = relationship("User", foreign_keys=[invited_by_id], lazy="joined")
    citizen = relationship("User", foreign_keys=[citizen_id], lazy="joined")
    provider = relationship("Provider", lazy="joined")

    def is_open(self, now: dt.datetime | None = None) -> bool:
        return self.status is InvitationStatus.PENDING and (now or utcnow()) < self.expires_at

    @property
    def is_claim(self) -> bool:
        """An invitation to claim a provider that nobody has signed up for, as its owner."""
        return self.kind is InvitationKind.PROVIDER_STAFF and self.invited_by_id is None
