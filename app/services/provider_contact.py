"""Reaching a provider: its team on the marketplace or, before anyone from it has signed up,
its contact email with an invitation to claim the organisation.

A booking request goes to the owners and managers (they accept or decline it); an enquiry to
the whole team (staff answer enquiries). A provider with neither a team nor a contact email
cannot be reached through the marketplace at all: its services say how to contact it
instead of offering to book or to ask a question.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import exists, select

from app.extensions import db
from app.models import OrgRole, Provider, ProviderStaff, User
from app.services import invitations, mail, notifications, team

LEADS = (OrgRole.OWNER, OrgRole.MANAGER)


def leads(provider: Provider) -> list[User]:
    """Who answers a booking request: the owners and managers who can sign in (or, if none
    can, anyone on the team who can)."""
    return leads_of(_pairs(team.members(provider)))


def everyone(provider: Provider) -> list[User]:
    return everyone_of(_pairs(team.members(provider)))


def leads_of(members: list[tuple[User | notifications.Recipient, OrgRole]]) -> list[User | notifications.Recipient]:
    """``leads`` from a team the caller read itself: (person, role) in order of name."""
    return [user for user, org_role in members if org_role in LEADS and user.active] or everyone_of(members)


def everyone_of(members: list[tuple[User | notifications.Recipient, OrgRole]]) -> list[User | notifications.Recipient]:
    """``everyone`` from a team the caller read itself: (person, role) in order of name."""
    return [user for user, _ in members if user.active]


def _pairs(members) -> list[tuple[User, OrgRole]]:
    return [(member.user, member.org_role) for member in members]


def can_be_reached(provider: Provider, *, team_known: tuple[bool, bool] | None = None) -> bool:
    """Whether a request or a question can reach someone at the provider: someone on its
    team who can sign in, or (before anyone has signed up) its contact email.

    ``team_known``: what ``team_columns`` answered for it in the caller's own query."""
    someone_active, anyone = team_known if team_known is not None else db.session.execute(select(*team_columns(provider.id))).one()
    return bool(someone_active) or (bool(provider.email) and not anyone)


def team_columns(provider_id) -> tuple:
    """Whether the provider has someone on its team who can sign in, and anyone on it at
    all: the facts ``can_be_reached`` needs, as columns another query can ask for
    (``provider_id`` may be a column)."""
    on_team = select(ProviderStaff.id).join(User, ProviderStaff.user_id == User.id).where(ProviderStaff.provider_id == provider_id)
    return exists(on_team.where(User.active.is_(True))), exists(on_team)


def unreachable_message(provider: Provider) -> str:
    """What a person is told instead of booking or asking a provider nobody can answer for."""
    ways = [f"phone {provider.phone}" if provider.phone else "", f"visit {provider.website}" if provider.website else ""]
    how = " or ".join(w for w in ways if w)
    return f"{provider.name} cannot take bookings or questions through the marketplace yet. " + (
        f"To arrange care with them, {how}." if how else "Contact the council to arrange care with them."
    )


def tell(provider: Provider, people: list[User | notifications.Recipient], *, subject: str, body: str, link: str) -> None:
    """Tell ``people`` (the provider's leads or team); if there is nobody, email the
    provider's contact address what is waiting, with an invitation to claim the
    organisation. Inside the caller's unit of work."""
    for message in to_tell(provider, people, subject=subject, body=body, link=link):
        notifications.notify(*message)


def to_tell(
    provider: Provider, people: list[User | notifications.Recipient], *, subject: str, body: str, link: str
) -> list[notifications.Message]:
    """``tell`` for a caller that sends several notices at once: the messages for ``people``,
    or, if there is nobody, none (the provider's contact address has been sent its
    invitation)."""
    if people:
        return [notifications.Message(person, subject, body, link) for person in people]
    if provider.email and not team.members(provider):
        invitations.invite_to_claim(
            provider,
            subject=subject,
            about=body,
            accept_link=lambda token: mail.link_for("auth.invitation", token=token),
            days=int(current_app.config["INVITATION_DAYS"]),
        )
    return []
