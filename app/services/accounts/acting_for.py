"""Who may act for whom: a citizen and the representatives they invited, and a provider's
team members and their organisation."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Provider,
    ProviderStaff,
    Representation,
    Role,
    User,
)


def _is_user(user) -> bool:
    return isinstance(user, User) and user.id is not None


def can_act_for(user, citizen) -> bool:
    """May ``user`` arrange care for ``citizen``? True for the citizen themselves and for
    a representative the citizen invited (while that lasts). Anyone else: False."""
    if not (_is_user(user) and _is_user(citizen)) or not user.active or not citizen.active:
        return False
    if citizen.role is not Role.CITIZEN:
        return False
    if user.id == citizen.id:
        return True
    if user.role is not Role.REPRESENTATIVE:
        return False
    found = db.session.execute(
        select(Representation.id).where(
            Representation.citizen_id == citizen.id,
            Representation.representative_id == user.id,
            Representation.ended_at.is_(None),
        )
    ).first()
    return found is not None


def citizens_represented_by(user) -> list[User]:
    """The citizens this representative acts for now, by name."""
    if not _is_user(user) or user.role is not Role.REPRESENTATIVE:
        return []
    return list(
        db.session.execute(
            select(User)
            .join(Representation, Representation.citizen_id == User.id)
            .where(Representation.representative_id == user.id, Representation.ended_at.is_(None), User.active.is_(True))
            .order_by(User.name, User.id)
        ).scalars()
    )


def people_user_acts_for(user) -> list[User]:
    """Everyone ``user`` may arrange care for: themselves if a citizen, else the citizens
    they represent."""
    if not _is_user(user):
        return []
    if user.role is Role.CITIZEN:
        return [user] if user.active else []
    return citizens_represented_by(user)


def representatives_of(citizen: User) -> list[User]:
    return list(
        db.session.execute(
            select(User)
            .join(Representation, Representation.representative_id == User.id)
            .where(Representation.citizen_id == citizen.id, Representation.ended_at.is_(None), User.active.is_(True))
            .order_by(User.name)
        ).scalars()
    )


def staff_membership(user) -> ProviderStaff | None:
    """The provider team place of a provider-staff user, or None."""
    if not _is_user(user) or user.role is not Role.PROVIDER:
        return None
    return db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == user.id)).scalar_one_or_none()


def provider_for_staff(user) -> Provider | None:
    """The organisation a provider-staff user works for, or None."""
    membership = staff_membership(user)
    return membership.provider if membership else None
