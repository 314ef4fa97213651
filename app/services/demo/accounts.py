"""Demo accounts, one for each kind of person, all with the password DEMO_PASSWORD.
Loaded only in demo mode, like the rest of the demo data."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import (
    CitizenFunding,
    Enquiry,
    EnquiryMessage,
    FrameworkMembership,
    MembershipStatus,
    OrgRole,
    Provider,
    ProviderStaff,
    ProviderStatus,
    Representation,
    Role,
    Service,
    ServiceStatus,
    User,
)
from app.services.demo.report import LoadReport, refuse_unless_demo
from app.services.passwords import hash_password

DEMO_PASSWORD = "demo-pass-2468"

# email, name, role, how they pay (citizens), who they are (for the sign-in page)
DEMO_PEOPLE = (
    ("citizen@demo.test", "Margaret Holloway", Role.CITIZEN, CitizenFunding.PERSONAL_BUDGET, "has a council personal budget"),
    ("selffunder@demo.test", "David Okafor", Role.CITIZEN, CitizenFunding.SELF_FUNDER, "pays for his own care"),
    ("isf@demo.test", "Joan Baxter", Role.CITIZEN, CitizenFunding.PERSONAL_BUDGET, "has an Individual Service Fund"),
    ("representative@demo.test", "Susan Holloway", Role.REPRESENTATIVE, None, "acts for citizen@demo.test, her mother"),
    ("provider@demo.test", "Priya Shah", Role.PROVIDER, None, "owner of a provider on the framework, with visits today"),
    ("commissioner@demo.test", "Tom Fletcher", Role.COMMISSIONER, None, "council commissioner"),
    ("admin@demo.test", "Aisha Rahman", Role.ADMIN, None, "runs the service"),
)
OWNER_DOMAIN = "demo.test"
# First and last names for the owners of the other demo providers, picked by provider.
OWNER_FIRST = ("Anita", "Ben", "Chloe", "Dev", "Ellen", "Farid", "Grace", "Hamza", "Imogen", "Jack", "Kirsty", "Liam", "Mei")
OWNER_LAST = ("Adeyemi", "Brooks", "Chen", "Dawson", "Evans", "Fraser", "Gill", "Hussain", "Iqbal", "Jones", "Khan", "Lewis", "Moore")


def sign_in_people() -> list[tuple[str, str]]:
    """(email, who they are) for the sign-in page in demo mode."""
    return [(email, who) for email, _name, _role, _funding, who in DEMO_PEOPLE]


def owner_email(provider: Provider) -> str:
    """How to sign in as the owner of a demo provider (other than provider@demo.test's)."""
    return f"{provider.slug}@{OWNER_DOMAIN}"


def demo_provider() -> Provider | None:
    """The provider provider@demo.test owns: the first verified provider (by slug) that is
    approved on a framework lot and has published listings."""
    return (
        db.session.execute(
            select(Provider)
            .join(FrameworkMembership, FrameworkMembership.provider_id == Provider.id)
            .where(
                Provider.status == ProviderStatus.VERIFIED,
                FrameworkMembership.status == MembershipStatus.APPROVED,
                Provider.id.in_(select(Service.provider_id).where(Service.status == ServiceStatus.PUBLISHED)),
            )
            .order_by(Provider.slug)
        )
        .scalars()
        .first()
    )


def load_accounts(report: LoadReport) -> None:
    """Demo accounts for every kind of person"""

    refuse_unless_demo(current_app.config.get("DEMO_MODE", False))  # never known passwords in production
    password_hash = hash_password(DEMO_PASSWORD)
    people = {
        email: _account(report, email, name, role, password_hash, citizen_funding=funding)
        for email, name, role, funding, _who in DEMO_PEOPLE
    }

    citizen, representative, owner = people["citizen@demo.test"], people["representative@demo.test"], people["provider@demo.test"]
    _link_representative(report, citizen, representative)
    provider = demo_provider()
    if provider is not None:
        _join_team(report, provider, owner)
        _demo_enquiry(report, provider, citizen, representative, owner)
    _owners_for_every_other_provider(report, password_hash)


def _account(report: LoadReport, email: str, name: str, role: Role, password_hash: str, **fields) -> User:
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is None:
        user = User(
            email=email,
            name=name,
            role=role,
            password_hash=password_hash,
            password_changed_at=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC),
            **fields,
        )
        db.session.add(user)
        db.session.flush()
        report.add("demo accounts")
    return user


def _owners_for_every_other_provider(report: LoadReport, password_hash: str) -> None:
    """An owner for each provider nobody from has an account yet, so every provider's side
    can be tried: ``owner_email(provider)`` with the demo password."""
    unowned = db.session.execute(
        select(Provider).where(~Provider.id.in_(select(ProviderStaff.provider_id))).order_by(Provider.slug)
    ).scalars()
    for n, provider in enumerate(unowned):
        name = f"{OWNER_FIRST[n % len(OWNER_FIRST)]} {OWNER_LAST[(n * 5) % len(OWNER_LAST)]}"
        owner = _account(report, owner_email(provider), name, Role.PROVIDER, password_hash)
        if db.session.execute(select(ProviderStaff.id).where(ProviderStaff.user_id == owner.id)).first() is None:
            db.session.add(ProviderStaff(provider_id=provider.id, user_id=owner.id, org_role=OrgRole.OWNER))
            report.add("provider team members")


def _link_representative(report: LoadReport, citizen: User, representative: User) -> None:
    linked = (
        db.session.execute(
            select(Representation).where(Representation.citizen_id == citizen.id, Representation.representative_id == representative.id)
        )
        .scalars()
        .first()
    )
    if linked is None:
        db.session.add(Representation(citizen_id=citizen.id, representative_id=representative.id, relationship_to_citizen="daughter"))
        report.add("representatives")


def _join_team(report: LoadReport, provider: Provider, owner: User) -> None:
    if db.session.execute(select(ProviderStaff).where(ProviderStaff.user_id == owner.id)).first() is None:
        db.session.add(ProviderStaff(provider_id=provider.id, user_id=owner.id, org_role=OrgRole.OWNER))
        report.add("provider team members")


def _demo_enquiry(report: LoadReport, provider: Provider, citizen: User, representative: User, owner: User) -> None:
    """A question from Margaret's daughter, answered by the provider."""
    if db.session.execute(select(Enquiry.id).where(Enquiry.citizen_id == citizen.id)).first() is not None:
        return
    service = (
        db.session.execute(
            select(Service).where(Service.provider_id == provider.id, Service.status == ServiceStatus.PUBLISHED).order_by(Service.id)
        )
        .scalars()
        .first()
    )
    asked = dt.datetime(2026, 10, 28, 10, 15, tzinfo=dt.UTC)
    answered = asked + dt.timedelta(hours=3, minutes=20)
    enquiry = Enquiry(
        service_id=service.id,
        provider_id=provider.id,
        citizen_id=citizen.id,
        started_by_id=representative.id,
        subject="Can you visit my mother on weekday mornings?",
        created_at=asked,
        last_message_at=answered,
        first_response_at=answered,
        awaiting_citizen=True,
        citizen_read_at=asked,
        provider_read_at=answered,
    )
    enquiry.messages = [
        EnquiryMessage(
            author_id=representative.id,
            from_provider=False,
            created_at=asked,
            body="My mother needs help getting up and dressed. "
            "Could a carer visit at about 8am on weekdays, and is it the same carer each time?",
        ),
        EnquiryMessage(
            author_id=owner.id,
            from_provider=True,
            created_at=answered,
            body="Yes, we have a regular carer free at 8am on weekdays in your area. "
            "We keep the same small team for each person so they get to know her.",
        ),
    ]
    db.session.add(enquiry)
    report.add("enquiries")
