"""Invitations by email: a citizen invites a representative; a provider invites a team
member. The emailed link carries a single-use token that expires.

Accepting needs an account with the invited email address: an existing one of the right
kind (signed in), or a new one created from the invitation page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update

from app.database import utcnow
from app.extensions import db
from app.models import (
    Invitation,
    InvitationKind,
    InvitationStatus,
    OrgRole,
    Provider,
    ProviderStaff,
    Representation,
    Role,
    User,
)
from app.services import accounts, audit, mail, notifications, team
from app.services.errors import Conflict, NotFound, ValidationError
from app.services.tokens import new_token, token_hash

NOT_VALID = "This invitation has expired, been cancelled or already been used"
CLAIMED = "Someone from your organisation has already set up its account. Ask them to invite you to the team."
MAX_RELATIONSHIP = 80


class InvitationNotValid(Conflict):
    pass


def _role_for(kind: InvitationKind) -> Role:
    return Role.REPRESENTATIVE if kind is InvitationKind.REPRESENTATIVE else Role.PROVIDER


def _create(kind: InvitationKind, *, email: str, invited_by: User | None, days: int, **fields) -> tuple[Invitation, str]:
    token = new_token()
    invitation = Invitation(
        kind=kind,
        email=email,
        token_hash=token_hash(token),
        invited_by_id=invited_by.id if invited_by else None,
        expires_at=utcnow() + dt.timedelta(days=days),
        **fields,
    )
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def _cancel_earlier(kind: InvitationKind, email: str, **target) -> None:
    query = update(Invitation).where(Invitation.kind == kind, Invitation.email == email, Invitation.status == InvitationStatus.PENDING)
    for column, value in target.items():
        query = query.where(getattr(Invitation, column) == value)
    db.session.execute(query.values(status=InvitationStatus.CANCELLED))


def invite_representative(citizen: User, *, email: str, relationship: str, accept_link: Callable[[str], str], days: int = 14) -> Invitation:
    """A citizen asks someone to act for them."""
    if citizen.role is not Role.CITIZEN:
        raise Conflict("Only citizens can invite a representative.")
    email = accounts.normalise_email(email)
    relationship = " ".join((relationship or "").split())
    errors = {}
    if not relationship:
        errors["relationship"] = "Enter how you know this person, for example daughter or friend"
    elif len(relationship) > MAX_RELATIONSHIP:
        errors["relationship"] = f"Relationship must be {MAX_RELATIONSHIP} characters or fewer"
    if email == citizen.email:
        errors["email"] = "Enter the email address of the person you want to act for you, not your own"
    existing = accounts.user_by_email(email)
    if existing is not None and existing.role is not Role.REPRESENTATIVE and "email" not in errors:
        errors["email"] = (
            "This email address belongs to an account that cannot act for other people. "
            "Ask them for another email address to use as your representative"
        )
    if existing is not None and accounts.can_act_for(existing, citizen) and "email" not in errors:
        errors["email"] = "This person already acts for you"
    if errors:
        raise ValidationError(errors)
    _cancel_earlier(InvitationKind.REPRESENTATIVE, email, citizen_id=citizen.id)
    invitation, token = _create(
        InvitationKind.REPRESENTATIVE,
        email=email,
        invited_by=citizen,
        days=days,
        citizen_id=citizen.id,
        relationship_to_citizen=relationship,
    )
    audit.record(citizen, "representation.invited", "invitation", invitation.id, after={"email": email, "relationship": relationship})
    mail.queue(
        email,
        f"{citizen.name} has asked you to act for them",
        f"Hello,\n\n{citizen.name} has asked you to help arrange their care and support on the council's care "
        f"marketplace, as their representative ({relationship}).\n\nTo accept, open this link within {days} days:\n\n"
        f"{accept_link(token)}\n\nAs their representative you will see their enquiries and bookings, and can make them "
        "for them. If you do not know this person, ignore this email.",
    )
    db.session.commit()
    return invitation


def invite_staff(
    actor: User, provider: Provider, *, email: str, org_role: OrgRole, accept_link: Callable[[str], str], days: int = 14
) -> Invitation:
    """A provider's owner or manager invites someone to the team."""
    membership = team.require_member(actor, provider)
    team.check_may_manage(membership, org_role)
    email = accounts.normalise_email(email)
    existing = accounts.user_by_email(email)
    if existing is not None:
        if existing.role is not Role.PROVIDER:
            raise ValidationError(
                {"email": "This email address belongs to an account that is not a provider account. Ask them for their work email address"}
            )
        if accounts.staff_membership(existing) is not None:
            raise ValidationError({"email": "This person is already in a provider team"})
    _cancel_earlier(InvitationKind.PROVIDER_STAFF, email, provider_id=provider.id)
    invitation, token = _create(
        InvitationKind.PROVIDER_STAFF, email=email, invited_by=actor, days=days, provider_id=provider.id, org_role=org_role
    )
    audit.record(actor, "team.invited", "provider", provider.id, after={"email": email, "org_role": org_role})
    mail.queue(
        email,
        f"Join {provider.name} on the care marketplace",
        f"Hello,\n\n{actor.name} has invited you to join {provider.name}'s team on the council's care marketplace "
        f"as {org_role.label.lower()}.\n\nTo accept, open this link within {days} days:\n\n{accept_link(token)}",
    )
    db.session.commit()
    return invitation


def invite_to_claim(provider: Provider, *, subject: str, about: str, accept_link: Callable[[str], str], days: int = 14) -> Invitation:
    """Email a provider that nobody has signed up for (at its contact address, which the
    council checked when it verified the provider) what is waiting for it, with a link to
    claim the organisation as its owner. Each email carries a new link; earlier ones stop
    working. Inside the caller's unit of work."""
    _cancel_earlier(InvitationKind.PROVIDER_STAFF, provider.email, provider_id=provider.id, invited_by_id=None)
    invitation, token = _create(
        InvitationKind.PROVIDER_STAFF, email=provider.email, invited_by=None, days=days, provider_id=provider.id, org_role=OrgRole.OWNER
    )
    audit.record(None, "team.claim_invited", "provider", provider.id, after={"email": provider.email}, note=subject)
    mail.queue(
        provider.email,
        subject,
        f"Hello,\n\n{about}\n\nNobody from {provider.name} has an account on the council's care marketplace yet, so "
        f"nobody can answer it there. To answer, set up your organisation's account as its owner: open this link within "
        f"{days} days:\n\n{accept_link(token)}\n\nYou can then invite the rest of your team. If this is not your "
        "organisation, ignore this email.",
    )
    return invitation


def open_invitation(token: str) -> Invitation:
    """The pending invitation for a link, or InvitationNotValid."""
    if not token or len(token) > 100:
        raise InvitationNotValid(NOT_VALID)
    invitation = db.session.execute(select(Invitation).where(Invitation.token_hash == token_hash(token))).scalar_one_or_none()
    if invitation is None or not invitation.is_open():
        raise InvitationNotValid(NOT_VALID)
    if invitation.kind is InvitationKind.REPRESENTATIVE and not invitation.citizen.active:
        raise InvitationNotValid(NOT_VALID)
    return invitation


def why_cannot_accept(invitation: Invitation, user: User) -> str | None:
    """Why this signed-in account cannot accept, as a sentence; None if it can."""
    if user.email != invitation.email:
        return f"This invitation was sent to {invitation.email}, but you are signed in as {user.email}. Sign out, then open the link again."
    if user.role is not _role_for(invitation.kind):
        return "Your account cannot accept this kind of invitation."
    if invitation.kind is InvitationKind.PROVIDER_STAFF and accounts.staff_membership(user) is not None:
        return "You are already in a provider team. Ask your organisation to remove you first."
    return claim_problem(invitation)


def claim_problem(invitation: Invitation) -> str | None:
    """Why an invitation to claim a provider can no longer be used (someone has set up its
    account since), whoever opens it; None if it can, or if it is not a claim."""
    if invitation.is_claim and team.members(invitation.provider):
        return CLAIMED
    return None


def _claim(invitation: Invitation, user: User) -> None:
    claimed = db.session.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.status == InvitationStatus.PENDING)
        .values(status=InvitationStatus.ACCEPTED, accepted_at=utcnow(), accepted_by_id=user.id)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise InvitationNotValid(NOT_VALID)


def _fulfil(invitation: Invitation, user: User) -> None:
    if invitation.kind is InvitationKind.REPRESENTATIVE:
        citizen = invitation.citizen
        if not accounts.can_act_for(user, citizen):
            db.session.add(
                Representation(citizen_id=citizen.id, representative_id=user.id, relationship_to_citizen=invitation.relationship_to_citizen)
            )
        audit.record(
            user,
            "representation.started",
            "user",
            citizen.id,
            after={"representative": user.email, "relationship": invitation.relationship_to_citizen},
        )
        notifications.notify(
            citizen,
            f"{user.name} can now act for you",
            f"{user.name} accepted your invitation and can now arrange care and support for you. "
            "You can stop this at any time from your account.",
            link="/account/representatives",
        )
    else:
        if invitation.is_claim:
            team.lock_team(invitation.provider)  # two claims at once: the second finds the first
            if team.members(invitation.provider):
                db.session.rollback()
                raise Conflict(CLAIMED)
        db.session.add(ProviderStaff(provider_id=invitation.provider_id, user_id=user.id, org_role=invitation.org_role))
        audit.record(user, "team.joined", "provider", invitation.provider_id, after={"user": user.email, "org_role": invitation.org_role})
        inviter = invitation.invited_by
        if inviter is not None and inviter.active:
            notifications.notify(
                inviter,
                f"{user.name} joined your team",
                f"{user.name} accepted your invitation to join {invitation.provider.name}.",
                link="/provider/team",
            )


def accept(token: str, user: User) -> Invitation:
    """A signed-in person accepts an invitation sent to their address."""
    invitation = open_invitation(token)
    problem = why_cannot_accept(invitation, user)
    if problem:
        raise Conflict(problem)
    _claim(invitation, user)
    _fulfil(invitation, user)
    db.session.commit()
    return invitation


def accept_with_new_account(token: str, *, name: str, password: str) -> User:
    """Someone without an account accepts: the account is created with the invited email."""
    invitation = open_invitation(token)
    if accounts.user_by_email(invitation.email) is not None:
        raise Conflict("An account already exists with this email address. Sign in to accept the invitation.")
    if claim_problem(invitation):
        raise Conflict(claim_problem(invitation))
    user = accounts.new_user(email=invitation.email, name=name, password=password, role=_role_for(invitation.kind))
    audit.record(user, "account.registered", "user", user.id, after={"role": user.role, "email": user.email}, note="from an invitation")
    _claim(invitation, user)
    _fulfil(invitation, user)
    db.session.commit()
    return user


def cancel_representative_invitation(citizen: User, invitation_id: int) -> None:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.citizen_id != citizen.id or invitation.status is not InvitationStatus.PENDING:
        raise NotFound("No such invitation")
    invitation.status = InvitationStatus.CANCELLED
    db.session.commit()


def cancel_staff_invitation(actor: User, provider: Provider, invitation_id: int) -> None:
    membership = team.require_member(actor, provider)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.provider_id != provider.id or invitation.status is not InvitationStatus.PENDING:
        raise NotFound("No such invitation")
    team.check_may_manage(membership, invitation.org_role)
    invitation.status = InvitationStatus.CANCELLED
    db.session.commit()


def pending_for_citizen(citizen: User) -> list[Invitation]:
    return list(
        db.session.execute(
            select(Invitation)
            .where(Invitation.citizen_id == citizen.id, Invitation.status == InvitationStatus.PENDING, Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at.desc())
        ).scalars()
    )


def pending_for_provider(provider: Provider) -> list[Invitation]:
    return list(
        db.session.execute(
            select(Invitation)
            .where(Invitation.provider_id == provider.id, Invitation.status == InvitationStatus.PENDING, Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at.desc())
        ).scalars()
    )


# -- Representation --------------------------------------------------------------------


def representations_of(citizen: User) -> list[Representation]:
    return list(
        db.session.execute(
            select(Representation)
            .where(Representation.citizen_id == citizen.id, Representation.ended_at.is_(None))
            .order_by(Representation.created_at)
        ).scalars()
    )


def representations_by(representative: User) -> list[Representation]:
    return list(
        db.session.execute(
            select(Representation)
            .where(Representation.representative_id == representative.id, Representation.ended_at.is_(None))
            .order_by(Representation.created_at)
        ).scalars()
    )


def end_representation(actor: User, representation_id: int) -> Representation:
    """The citizen removes a representative, or the representative steps down."""
    row = db.session.get(Representation, representation_id)
    if row is None or row.ended_at is not None or actor.id not in (row.citizen_id, row.representative_id):
        raise NotFound("No such representative")
    row.ended_at = utcnow()
    audit.record(
        actor,
        "representation.ended",
        "user",
        row.citizen_id,
        before={"representative": row.representative.email, "relationship": row.relationship_to_citizen},
        after=None,
    )
    other = row.representative if actor.id == row.citizen_id else row.citizen
    if actor.id == row.citizen_id:
        notifications.notify(
            other, f"You no longer act for {row.citizen.name}", f"{row.citizen.name} has removed you as their representative."
        )
    else:
        notifications.notify(
            other,
            f"{actor.name} no longer acts for you",
            f"{actor.name} has stopped acting as your representative.",
            link="/account/representatives",
        )
    db.session.commit()
    return row
