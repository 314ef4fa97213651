"""A provider's team: who may do what, changing roles, removing people.

Owners may do everything; managers run the profile, listings, availability and
enquiries, refund card payments and manage staff; staff answer enquiries. There is always at least one owner.
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.database import write_transaction
from app.extensions import db
from app.models import OrgRole, Provider, ProviderStaff, User
from app.services import audit, notifications, user_sessions
from app.services.errors import Conflict, NotFound

# What each action needs, at least.
NEEDS = {
    "view": OrgRole.STAFF,
    "answer_enquiries": OrgRole.STAFF,
    "edit_listings": OrgRole.MANAGER,
    "edit_profile": OrgRole.MANAGER,
    "manage_team": OrgRole.MANAGER,
    "refund_payments": OrgRole.MANAGER,
}


class NotAllowed(Conflict):
    """The team member's role does not allow this."""


def may(membership: ProviderStaff | None, action: str) -> bool:
    return membership is not None and membership.org_role.rank >= NEEDS[action].rank


def require(membership: ProviderStaff | None, action: str) -> None:
    if not may(membership, action):
        needed = NEEDS[action].label.lower()
        raise NotAllowed(f"Only an owner{' or manager' if needed == 'manager' else ''} of your organisation can do this.")


def require_member(user: User, provider: Provider) -> ProviderStaff:
    membership = db.session.execute(
        select(ProviderStaff).where(ProviderStaff.user_id == user.id, ProviderStaff.provider_id == provider.id)
    ).scalar_one_or_none()
    if membership is None:
        raise NotFound("Not a member of this provider")
    return membership


def check_may_manage(membership: ProviderStaff, org_role: OrgRole | None) -> None:
    """Owners manage anyone; managers manage staff only."""
    require(membership, "manage_team")
    if membership.org_role is not OrgRole.OWNER and org_role is not OrgRole.STAFF:
        raise NotAllowed("Only an owner can add, change or remove owners and managers.")


def members(provider: Provider) -> list[ProviderStaff]:
    return list(
        db.session.execute(
            select(ProviderStaff)
            .join(User, ProviderStaff.user_id == User.id)
            .where(ProviderStaff.provider_id == provider.id)
            .order_by(User.name)
        ).scalars()
    )


def get_member(provider: Provider, member_id: int) -> ProviderStaff:
    member = db.session.get(ProviderStaff, member_id)
    if member is None or member.provider_id != provider.id:
        raise NotFound("No such team member")
    return member


def _owner_count(provider: Provider) -> int:
    return db.session.execute(
        select(func.count(ProviderStaff.id)).where(ProviderStaff.provider_id == provider.id, ProviderStaff.org_role == OrgRole.OWNER)
    ).scalar_one()


def lock_team(provider: Provider) -> None:
    """Changes to one provider's team take turns: a row lock on the provider (PostgreSQL;
    SQLite's write transaction is exclusive already), then everything is read afresh. So
    two owners demoting or removing each other at the same moment cannot leave none."""
    db.session.execute(select(Provider.id).where(Provider.id == provider.id).with_for_update())
    db.session.expire_all()


LAST_OWNER = "Your organisation must have at least one owner. Make someone else an owner first."


def change_role(actor: User, provider: Provider, member_id: int, org_role: OrgRole) -> ProviderStaff:
    with write_transaction():
        lock_team(provider)
        membership = require_member(actor, provider)
        member = get_member(provider, member_id)
        check_may_manage(membership, member.org_role)
        check_may_manage(membership, org_role)
        if member.org_role is org_role:
            return member
        if member.org_role is OrgRole.OWNER and _owner_count(provider) == 1:
            raise Conflict(LAST_OWNER)
        before = {"user": member.user.email, "org_role": member.org_role}
        member.org_role = org_role
        audit.record(
            actor, "team.role_changed", "provider", provider.id, before=before, after={"user": member.user.email, "org_role": org_role}
        )
        if member.user_id != actor.id:
            notifications.notify(
                member.user,
                f"Your role at {provider.name} has changed",
                f"{actor.name} changed your role to {org_role.label.lower()}.",
                link="/provider",
            )
    return member


def remove(actor: User, provider: Provider, member_id: int) -> None:
    """Take someone off the team. Their sign-ins end; their account stays, with no organisation."""
    with write_transaction():
        lock_team(provider)
        membership = require_member(actor, provider)
        member = get_member(provider, member_id)
        if member.user_id == actor.id:
            raise Conflict("You cannot remove yourself. Ask another owner.")
        check_may_manage(membership, member.org_role)
        if member.org_role is OrgRole.OWNER and _owner_count(provider) == 1:
            raise Conflict(LAST_OWNER)
        user = member.user
        audit.record(actor, "team.removed", "provider", provider.id, before={"user": user.email, "org_role": member.org_role})
        db.session.delete(member)
        user_sessions.end_all(user, user_sessions.EndReason.REMOVED_FROM_TEAM)
        notifications.notify(
            user,
            f"You have been removed from {provider.name}",
            f"{actor.name} removed you from {provider.name}'s team on the care marketplace.",
        )
