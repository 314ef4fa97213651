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

# email, name, role, how they pay (citizens)
DEMO_PEOPLE = (
    ("citizen@demo.test", "Margaret Holloway", Role.CITIZEN, CitizenFunding.PERSONAL_BUDGET),
    ("selffunder@demo.test", "David Okafor", Role.CITIZEN, CitizenFunding.SELF_FUNDER),
    ("isf@demo.test", "Joan Baxter", Role.CITIZEN, CitizenFunding.PERSONAL_BUDGET),
    ("representative@demo.test", "Susan Holloway", Role.REPRESENTATIVE, None),
    ("provider@demo.test", "Priya Shah", Role.PROVIDER, None),
    ("commissioner@demo.test", "Tom Fletcher", Role.COMMISSIONER, None),
    ("admin@demo.test", "Aisha Rahman", Role.ADMIN, None),
)


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
    people: dict[str, User] = {}
    password_hash = None
    for email, name, role, funding in DEMO_PEOPLE:
        user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            password_hash = password_hash or hash_password(DEMO_PASSWORD)
            user = User(
                email=email,
                name=name,
                role=role,
                citizen_funding=funding,
                password_hash=password_hash,
                password_changed_at=dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC),
            )
            db.session.add(user)
            db.session.flush()
            report.add("demo accounts")
        people[email] = user

    citizen, representative, owner = people["citizen@demo.test"], people["representative@demo.test"], people["provider@demo.test"]
    _link_representative(report, citizen, representative)
    provider = demo_provider()
    if provider is not None:
        _join_team(report, provider, owner)
        _demo_enquiry(report, provider, citizen, representative, owner)


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
