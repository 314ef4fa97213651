"""Every booking request and question reaches someone who can answer it: the provider's
owners and managers, or (before anyone from it has signed up) its contact email with an
invitation to claim the organisation; a provider nobody can reach says how to contact it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, BookingSchedule, BookingStatus, Notification, OrgRole, ProviderStaff, Role
from app.services import bookings
from tests.helpers import h1, link_in, outbox, post_form, sign_in, visible_text
from tests.services.money_helpers import future_day


def _request(service, budget, policy, key):
    return bookings.BookingRequest(
        service_id=service.id,
        request_key=key,
        schedule=BookingSchedule.ONE_OFF,
        first_date=future_day(policy),
        start_time=dt.time(10),
        units=1,
        budget_public_id=budget.public_id,
    )


@pytest.fixture
def home_care(make_service):
    def make(provider=None, **provider_fields):
        return make_service(
            provider=provider, title="Home care visits", price_pence=2_000, capacity=5, hours=[(d, "08:00", "20:00") for d in range(7)]
        )

    return make


def _notified(user) -> list[str]:
    return [n.subject for n in db.session.execute(select(Notification).where(Notification.user_id == user.id)).scalars()]


def test_a_request_goes_to_the_owners_and_managers_not_to_staff(make_provider, make_provider_staff, home_care, make_budget, policy):
    provider = make_provider()
    owner = make_provider_staff(provider, OrgRole.OWNER)
    manager = make_provider_staff(provider, OrgRole.MANAGER)
    carer = make_provider_staff(provider, OrgRole.STAFF)
    service = home_care(provider)
    budget = make_budget()
    booking = bookings.create(_request(service, budget, policy, "to-leads"), citizen=budget.citizen, booker=budget.citizen, policy=policy)
    subject = f"New booking request {booking.reference}"
    assert subject in _notified(owner) and subject in _notified(manager)
    assert subject not in _notified(carer)
    assert outbox(provider.email) == []  # the team has it: the contact address is not asked to claim anything


def test_a_request_for_a_provider_nobody_has_signed_up_for_invites_its_contact_email_to_claim_it(
    app, make_provider, home_care, make_budget, policy
):
    provider = make_provider(name="Riverside Carers", email="office@riverside.example")
    service = home_care(provider)
    budget = make_budget()
    booking = bookings.create(_request(service, budget, policy, "to-claim"), citizen=budget.citizen, booker=budget.citizen, policy=policy)
    [email] = outbox("office@riverside.example")
    assert email.subject == f"New booking request {booking.reference}"
    assert "has asked to book Home care visits" in email.body_text and "Nobody from Riverside Carers has an account" in email.body_text
    path = link_in(email, "/invitations/")
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "team.claim_invited")).scalar_one()
    assert event.target_id == str(provider.id)

    # The person at that address sets up the account and finds the request waiting.
    newcomer = app.test_client()
    assert h1(newcomer.get(path)) == "Set up Riverside Carers’s account"
    created = post_form(newcomer, path, {"name": "Rita Owner", "password": "violet harbour lamps"})
    assert created.status_code == 302
    member = db.session.execute(select(ProviderStaff).where(ProviderStaff.provider_id == provider.id)).scalar_one()
    assert member.org_role is OrgRole.OWNER and member.user.email == "office@riverside.example"
    inbox = newcomer.get("/provider/bookings")
    assert booking.reference in visible_text(inbox)
    accepted = post_form(
        newcomer, f"/provider/bookings/{booking.public_id}/accept", {}, form_page=f"/provider/bookings/{booking.public_id}"
    )
    assert accepted.status_code == 302
    db.session.expire_all()
    assert bookings.get_booking(booking.public_id).status is BookingStatus.ACCEPTED


def test_each_request_carries_a_new_link_and_a_claimed_provider_cannot_be_claimed_again(app, make_provider, home_care, make_budget, policy):
    provider = make_provider(email="office@twice.example")
    service = home_care(provider)
    budget = make_budget()
    for key in ("first", "second"):
        bookings.create(_request(service, budget, policy, key), citizen=budget.citizen, booker=budget.citizen, policy=policy)
    first, second = outbox("office@twice.example")
    stale, fresh = link_in(first, "/invitations/"), link_in(second, "/invitations/")
    assert app.test_client().get(stale).status_code == 404  # the earlier link stops working
    post_form(app.test_client(), fresh, {"name": "First Owner", "password": "violet harbour lamps"})
    assert len(db.session.execute(select(ProviderStaff).where(ProviderStaff.provider_id == provider.id)).scalars().all()) == 1
    assert app.test_client().get(fresh).status_code == 404  # used


def test_a_claim_is_refused_once_someone_else_has_joined(app, make_provider, make_provider_staff, home_care, make_budget, policy):
    provider = make_provider(email="office@raced.example")
    service = home_care(provider)
    budget = make_budget()
    bookings.create(_request(service, budget, policy, "raced"), citizen=budget.citizen, booker=budget.citizen, policy=policy)
    path = link_in(outbox("office@raced.example")[-1], "/invitations/")
    make_provider_staff(provider, OrgRole.OWNER)  # someone joined meanwhile (a commissioner's help, say)
    late = app.test_client()
    assert "Someone from your organisation has already set up its account" in visible_text(late.get(path))
    response = post_form(late, path, {"name": "Late Claimer", "password": "violet harbour lamps"}, follow_redirects=True)
    assert "Someone from your organisation has already set up its account" in visible_text(response)
    assert len(db.session.execute(select(ProviderStaff).where(ProviderStaff.provider_id == provider.id)).scalars().all()) == 1


def test_a_question_to_a_provider_nobody_has_signed_up_for_reaches_its_contact_email(client, login, make_provider, home_care, make_citizen):
    provider = make_provider(email="office@questions.example")
    service = home_care(provider)
    citizen = make_citizen()
    login(client, citizen)
    asked = post_form(client, f"/services/{service.id}/ask", {"citizen": str(citizen.id), "subject": "Weekend visits?", "body": "Sundays?"})
    assert asked.status_code == 302, visible_text(asked)[:500]
    [email] = outbox("office@questions.example")
    assert email.subject == "New enquiry about Home care visits" and "/invitations/" in email.body_text


def test_a_provider_nobody_can_reach_says_how_to_contact_it_instead_of_offering_to_book(
    client, login, make_provider, home_care, make_citizen, make_budget
):
    provider = make_provider(name="Quiet Care", email=None, phone="01733 555123", website="https://quiet.example")
    service = home_care(provider)
    citizen = make_citizen()
    make_budget(citizen=citizen)
    login(client, citizen)
    response = client.get(f"/services/{service.id}")
    text = visible_text(response)
    assert "Book this service" not in text and f"/services/{service.id}/ask" not in response.get_data(as_text=True)
    assert "Quiet Care cannot take bookings or questions through the marketplace yet. To arrange care with them, phone 01733 555123" in text
    for path in (f"/services/{service.id}/book", f"/services/{service.id}/ask"):
        refused = client.get(path)
        assert refused.status_code == 409 and "phone 01733 555123" in visible_text(refused)


@pytest.mark.parametrize("role", [Role.PROVIDER, Role.COMMISSIONER, Role.ADMIN])
def test_staff_accounts_are_not_offered_links_that_end_in_a_404(client, make_user, make_provider_staff, home_care, role):
    service = home_care()
    make_provider_staff(service.provider)
    user = make_provider_staff() if role is Role.PROVIDER else make_user(role)
    sign_in(client, user)
    response = client.get(f"/services/{service.id}")
    text = visible_text(response)
    assert "Book this service" not in text and f"/services/{service.id}/ask" not in response.get_data(as_text=True)
    assert client.get(f"/services/{service.id}/book").status_code == 404  # the page they are no longer sent to
