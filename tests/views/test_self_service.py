"""Provider self-service, enquiries, commissioner decisions and representatives, as the
people using them would go through them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.models import (
    AuditEvent,
    AuditEventImmutable,
    Enquiry,
    FrameworkMembership,
    MembershipStatus,
    Notification,
    OrgRole,
    Provider,
    ProviderStaff,
    ProviderStatus,
    Role,
    Service,
    ServiceClosure,
    ServiceStatus,
    User,
)
from app.services import accounts, enquiries
from tests.helpers import h1, link_in, outbox, post_form, sign_in, summary_rows, table_rows, visible_text


def _audit(action):
    return db.session.execute(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).scalars().all()


# -- Provider sign-up and verification ----------------------------------------------------


def _sign_up(client, make_district, **overrides):
    make_district("PE1")
    data = {
        "your_name": "Priya Shah",
        "your_email": "priya@sunrise.test",
        "password": "kettle on the hob",
        "name": "Sunrise Home Care",
        "legal_name": "Sunrise Home Care Ltd",
        "base_postcode": "pe1 1aa",
        "phone": "01733 123456",
        "email": "hello@sunrise.test",
        "description": "Home care in Peterborough.",
        "cqc_provider_id": "1-101634368",
        "cqc_location_id": "1-1000012345",
    }
    data.update(overrides)
    return post_form(client, "/register/provider", data)


def test_a_provider_signs_up_pending_and_a_commissioner_verifies_it(app, client, make_district, make_commissioner):
    response = _sign_up(client, make_district)
    assert response.headers["Location"] == "/provider"
    provider = db.session.execute(select(Provider).where(Provider.name == "Sunrise Home Care")).scalar_one()
    assert provider.status is ProviderStatus.PENDING and provider.base_postcode == "PE1 1AA"
    dashboard = client.get("/provider")
    assert "The council is checking your organisation" in visible_text(dashboard)
    assert app.test_client().get(f"/providers/{provider.id}").status_code == 404  # not public yet

    council = app.test_client()
    sign_in(council, make_commissioner())
    queue = council.get("/commissioner/providers")
    assert "Sunrise Home Care" in visible_text(queue)
    bad = post_form(
        council,
        f"/commissioner/providers/{provider.id}/verify",
        {"regulated": "yes", "cqc_provider_id": "1-101634368", "cqc_location_id": "12345"},
    )
    assert "Enter a CQC location ID in the correct format" in visible_text(bad)
    response = post_form(
        council,
        f"/commissioner/providers/{provider.id}/verify",
        {"regulated": "yes", "cqc_provider_id": "1-101634368", "cqc_location_id": "1-1000012345"},
    )
    assert response.status_code == 302
    db.session.refresh(provider)
    assert provider.status is ProviderStatus.VERIFIED
    event = _audit("provider.verified")[0]
    assert event.before["status"] == "pending" and event.after["status"] == "verified"
    assert "has been verified" in visible_text(client.get("/notifications"))
    assert any(e.subject == "Sunrise Home Care has been verified" for e in outbox("priya@sunrise.test"))


def test_verification_refuses_a_cqc_location_id_another_provider_has(app, client, make_district, make_provider, make_commissioner):
    make_provider(cqc_location_id="1-1000099999")
    _sign_up(client, make_district)
    provider = db.session.execute(select(Provider).where(Provider.name == "Sunrise Home Care")).scalar_one()
    council = app.test_client()
    sign_in(council, make_commissioner())
    response = post_form(
        council,
        f"/commissioner/providers/{provider.id}/verify",
        {"regulated": "yes", "cqc_provider_id": "1-101634368", "cqc_location_id": "1-1000099999"},
    )
    assert "(verified) already has this CQC location ID. If it is not theirs, reject that provider or correct its ID first" in visible_text(
        response
    )
    db.session.refresh(provider)
    assert provider.status is ProviderStatus.PENDING


def test_a_rejected_sign_up_no_longer_holds_its_cqc_location_id(
    app, client, make_district, make_provider, make_provider_staff, make_commissioner
):
    """A bogus sign-up blocks a CQC location id only while the council has not decided:
    once rejected, the real provider can use it, and the commissioner verifying it is told
    another provider gave the same id."""
    squatter = make_provider(
        name="Squatter Care", status=ProviderStatus.PENDING, cqc_location_id="1-1000012345", cqc_provider_id="1-101634368"
    )
    blocked = _sign_up(client, make_district)
    assert "Another provider on the marketplace already has this CQC location ID" in visible_text(blocked)

    council = app.test_client()
    sign_in(council, make_commissioner())
    post_form(council, f"/commissioner/providers/{squatter.id}/reject", {"reason": "CQC lists another provider at this location."})
    response = _sign_up(app.test_client(), make_district)
    assert response.headers["Location"] == "/provider"
    real = db.session.execute(select(Provider).where(Provider.name == "Sunrise Home Care")).scalar_one()
    assert real.cqc_location_id == "1-1000012345" and real.status is ProviderStatus.PENDING

    page = council.get(f"/commissioner/providers/{real.id}/verify")
    text_on_page = visible_text(page)
    assert "Another provider gave the same CQC location ID (1-1000012345), and the council did not verify it" in text_on_page
    assert "Squatter Care (rejected: CQC lists another provider at this location.)" in text_on_page
    post_form(
        council,
        f"/commissioner/providers/{real.id}/verify",
        {"regulated": "yes", "cqc_provider_id": "1-101634368", "cqc_location_id": "1-1000012345"},
    )
    db.session.refresh(real)
    assert real.status is ProviderStatus.VERIFIED

    # The rejected one cannot come back into play with the id while the real provider has it.
    squatter_owner = make_provider_staff(squatter)
    squatter_client = app.test_client()
    sign_in(squatter_client, squatter_owner)
    post_form(squatter_client, "/provider/resubmit", form_page="/provider")
    assert "Another provider on the marketplace now has your CQC location ID" in visible_text(squatter_client.get("/provider"))
    db.session.refresh(squatter)
    assert squatter.status is ProviderStatus.REJECTED


def test_a_provider_sign_up_that_loses_a_race_for_its_cqc_location_id_or_email_is_a_form_error(
    app, client, make_district, make_provider, make_user, monkeypatch
):
    from app.services import provider_accounts

    winner = make_provider(name="Got There First", cqc_location_id="1-1000012345", cqc_provider_id="1-101634368")
    real_holder = provider_accounts.location_id_holder
    calls = []

    def racing(location_id, **kwargs):  # the check before the insert misses the winner
        calls.append(location_id)
        return None if len(calls) == 1 else real_holder(location_id, **kwargs)

    monkeypatch.setattr(provider_accounts, "location_id_holder", racing)
    response = _sign_up(client, make_district)
    assert len(calls) >= 2, "the race was not staged"
    assert response.status_code == 200
    assert "Another provider on the marketplace already has this CQC location ID" in visible_text(response)
    assert db.session.execute(select(Provider.id).where(Provider.cqc_location_id == "1-1000012345")).scalars().all() == [winner.id]
    assert accounts.user_by_email("priya@sunrise.test") is None  # nothing of the loser was kept
    monkeypatch.undo()

    make_user(email="priya@sunrise.test")
    from tests.views.test_auth import _lose_the_race_once

    missed = _lose_the_race_once(monkeypatch, "priya@sunrise.test")
    response = _sign_up(client, make_district, cqc_provider_id="", cqc_location_id="")
    assert missed and response.status_code == 200
    assert "An account already exists with this email address" in visible_text(response)


def test_two_sign_ups_with_the_same_name_get_their_own_web_addresses(app, make_district, monkeypatch):
    from app.services import provider_accounts

    _sign_up(app.test_client(), make_district, cqc_provider_id="", cqc_location_id="")
    real_slug, raced = provider_accounts.unique_slug, []

    def racing_slug(name):  # the first check ran before the other sign-up's insert
        if not raced:
            raced.append(name)
            return "sunrise-home-care"
        return real_slug(name)

    monkeypatch.setattr(provider_accounts, "unique_slug", racing_slug)
    response = _sign_up(app.test_client(), make_district, your_email="sam@sunrise.test", cqc_provider_id="", cqc_location_id="")
    assert response.headers["Location"] == "/provider"
    assert sorted(db.session.execute(select(Provider.slug)).scalars()) == ["sunrise-home-care", "sunrise-home-care-2"]


def test_a_rejected_provider_sees_why_fixes_it_and_asks_again(app, client, make_district, make_commissioner):
    _sign_up(client, make_district)
    provider = db.session.execute(select(Provider).where(Provider.name == "Sunrise Home Care")).scalar_one()
    council = app.test_client()
    sign_in(council, make_commissioner())
    empty = post_form(council, f"/commissioner/providers/{provider.id}/reject", {"reason": ""})
    assert "Enter the reason" in visible_text(empty)
    post_form(council, f"/commissioner/providers/{provider.id}/reject", {"reason": "The CQC location ID is for another service."})
    page = client.get("/provider")
    assert "Reason: The CQC location ID is for another service." in visible_text(page)
    post_form(client, "/provider/resubmit", form_page="/provider")
    db.session.refresh(provider)
    assert provider.status is ProviderStatus.PENDING
    assert [
        e.action
        for e in db.session.execute(select(AuditEvent).where(AuditEvent.target_type == "provider").order_by(AuditEvent.id)).scalars()
    ][-2:] == ["provider.rejected", "provider.resubmitted"]


# -- Listings -------------------------------------------------------------------------------


def _listing(**overrides):
    data = {
        "title": "Morning calls",
        "category_id": "",
        "description": "Help getting up.",
        "price": "24.50",
        "price_unit": "hour",
        "min_units": "1",
        "funding_routes": ["personal_budget", "self_funder"],
    }
    data.update(overrides)
    return data


def test_listing_validation_preview_publish_withdraw_and_price_audit(app, client, make_provider, make_provider_staff, category):
    provider = make_provider(areas=[])
    owner = make_provider_staff(provider)
    sign_in(client, owner)
    home = category("home-care")
    bad = post_form(client, "/provider/services/new", _listing(title="", price="0", price_unit="", funding_routes=[], category_id="0"))
    text = visible_text(bad)
    for message in (
        "Enter a name for the service",
        "Enter a price above £0",
        "Select what the price is for",
        "Select at least one way people can pay",
        "Select the kind of care or support",
    ):
        assert message in text
    assert "Enter a price of £5,000 or less" in visible_text(
        post_form(client, "/provider/services/new", _listing(category_id=home.id, price="5000.01"))
    )
    response = post_form(client, "/provider/services/new", _listing(category_id=home.id))
    service = db.session.execute(select(Service).where(Service.title == "Morning calls")).scalar_one()
    assert response.headers["Location"] == f"/provider/services/{service.id}"
    assert service.status is ServiceStatus.DRAFT and service.price_pence == 2450

    preview = client.get(f"/provider/services/{service.id}/preview")
    assert "This is a preview of your listing" in visible_text(preview) and h1(preview) == "Morning calls"
    assert app.test_client().get(f"/services/{service.id}").status_code == 404

    # No areas yet: publishing is refused with a reason.
    post_form(client, f"/provider/services/{service.id}/publish", form_page=f"/provider/services/{service.id}")
    assert "Add at least one area you work in" in visible_text(client.get(f"/provider/services/{service.id}"))
    db.session.refresh(service)
    assert service.status is ServiceStatus.DRAFT
    provider.service_radius_miles = 10
    db.session.commit()
    post_form(client, f"/provider/services/{service.id}/publish", form_page=f"/provider/services/{service.id}")
    db.session.refresh(service)
    assert service.status is ServiceStatus.PUBLISHED
    assert app.test_client().get(f"/services/{service.id}").status_code == 200

    post_form(client, f"/provider/services/{service.id}/edit", _listing(category_id=home.id, price="26"))
    change = _audit("service.price_changed")[0]
    assert (change.before["price_pence"], change.after["price_pence"]) == (2450, 2600)
    assert change.actor_id == owner.id

    post_form(client, f"/provider/services/{service.id}/withdraw", form_page=f"/provider/services/{service.id}")
    db.session.refresh(service)
    assert service.status is ServiceStatus.WITHDRAWN
    assert app.test_client().get(f"/services/{service.id}").status_code == 404


def test_weekly_hours_and_closures(client, make_service, make_provider_staff):
    service = make_service(hours=[])
    sign_in(client, make_provider_staff(service.provider))
    bad = post_form(client, f"/provider/services/{service.id}/hours", {"day0_0_opens": "9am", "day0_0_closes": "25:00"})
    assert "Enter a real time" in visible_text(bad) or "Enter a time" in visible_text(bad)
    post_form(
        client,
        f"/provider/services/{service.id}/hours",
        {"day0_0_opens": "9am", "day0_0_closes": "5:30pm", "day5_0_opens": "22:00", "day5_0_closes": "07:00"},
    )
    db.session.refresh(service)
    assert [(h.weekday, h.opens_at, h.closes_at) for h in service.hours] == [(0, dt.time(9), dt.time(17, 30)), (5, dt.time(22), dt.time(7))]

    post_form(
        client,
        "/provider/closures",
        {"service_id": "all", "starts_on": ["24", "12", "2030"], "ends_on": ["26", "12", "2030"], "reason": "Christmas"},
    )
    closure = db.session.execute(select(ServiceClosure)).scalar_one()
    assert (closure.starts_on, closure.ends_on, closure.service_id) == (dt.date(2030, 12, 24), dt.date(2030, 12, 26), None)
    bad = post_form(client, "/provider/closures", {"service_id": "all", "starts_on": ["31", "2", "2030"], "ends_on": ["", "", ""]})
    assert "Enter the first day as a real date" in visible_text(bad)
    post_form(client, "/provider/closures/bank-holidays", {"year": "2027"}, form_page="/provider/closures")
    days = {c.starts_on for c in db.session.execute(select(ServiceClosure).where(ServiceClosure.reason != "Christmas")).scalars()}
    assert dt.date(2027, 3, 26) in days and dt.date(2027, 12, 27) in days and len(days) == 8
    from app.services import listings

    assert listings.is_closed_on(service, dt.date(2030, 12, 25)) and not listings.is_closed_on(service, dt.date(2030, 12, 27))


def test_saving_usual_hours_again_with_a_day_unchanged_keeps_them(client, make_service, make_provider_staff):
    """Re-saving the hours form with Monday as it was (and Saturday added, then changed)
    replaces the hours: the unchanged day's row is not inserted beside itself."""
    service = make_service(hours=[])
    sign_in(client, make_provider_staff(service.provider))
    url = f"/provider/services/{service.id}/hours"
    monday = {"day0_0_opens": "9am", "day0_0_closes": "5pm"}
    saturdays = [
        ({}, []),
        ({"day5_0_opens": "10am", "day5_0_closes": "2pm"}, [(5, dt.time(10), dt.time(14))]),
        ({"day5_0_opens": "11am", "day5_0_closes": "3pm"}, [(5, dt.time(11), dt.time(15))]),
        ({}, []),
    ]
    for saturday, saturday_hours in saturdays:
        response = post_form(client, url, {**monday, **saturday})
        assert response.status_code == 302, response.status_code
        db.session.expire_all()
        hours = db.session.get(type(service), service.id).hours
        assert [(h.weekday, h.opens_at, h.closes_at) for h in hours] == [(0, dt.time(9), dt.time(17)), *saturday_hours]


def test_team_invite_accept_and_removal_ends_their_sign_in(app, client, make_provider, make_provider_staff):
    provider = make_provider()
    owner = make_provider_staff(provider)
    sign_in(client, owner)
    post_form(client, "/provider/team/invite", {"email": "sam@sunrise.test", "org_role": "manager"})
    path = link_in(outbox("sam@sunrise.test")[-1], "/invitations/")
    newcomer = app.test_client()
    page = newcomer.get(path)
    assert h1(page) == f"Join {provider.name}"
    post_form(newcomer, path, {"name": "Sam Jones", "password": "violet harbour lamps"})
    sam = accounts.user_by_email("sam@sunrise.test")
    assert accounts.provider_for_staff(sam).id == provider.id
    assert newcomer.get("/provider/services").status_code == 200
    assert newcomer.get(path).status_code == 404  # used

    member = accounts.staff_membership(sam)
    post_form(client, f"/provider/team/{member.id}/remove", form_page="/provider/team")
    assert newcomer.get("/provider/services").status_code == 302  # signed out by the removal
    sign_in(newcomer, sam, "violet harbour lamps")
    assert newcomer.get("/provider/services").status_code == 404
    assert "You are not part of a provider organisation" in visible_text(newcomer.get("/provider"))
    assert [
        e.action for e in db.session.execute(select(AuditEvent).where(AuditEvent.action.like("team.%")).order_by(AuditEvent.id)).scalars()
    ] == ["team.invited", "team.joined", "team.removed"]


def test_staff_cannot_edit_listings(app, client, make_provider, make_provider_staff, make_service):
    provider = make_provider()
    make_provider_staff(provider)
    staff = make_provider_staff(provider, OrgRole.STAFF)
    service = make_service(provider=provider)
    sign_in(client, staff)
    response = client.get(f"/provider/services/{service.id}/edit")
    assert response.status_code == 302
    assert "Only an owner or manager" in visible_text(client.get("/provider"))


def test_the_last_owner_can_be_neither_demoted_nor_removed(app, client, make_provider, make_provider_staff):
    provider = make_provider()
    owner = make_provider_staff(provider)
    manager = make_provider_staff(provider, OrgRole.MANAGER)
    sign_in(client, owner)
    own = accounts.staff_membership(owner)

    demoted = post_form(client, f"/provider/team/{own.id}/role", {"org_role": "manager"})
    assert demoted.status_code == 200
    assert "Your organisation must have at least one owner. Make someone else an owner first." in visible_text(demoted)
    removed = post_form(client, f"/provider/team/{own.id}/remove", form_page="/provider/team")
    assert removed.headers["Location"] == "/provider/team"
    assert "You cannot remove yourself" in visible_text(client.get("/provider/team"))

    by_manager = app.test_client()
    sign_in(by_manager, manager)
    post_form(by_manager, f"/provider/team/{own.id}/remove", form_page="/provider/team")
    assert "Only an owner can add, change or remove owners and managers" in visible_text(by_manager.get("/provider/team"))
    post_form(by_manager, f"/provider/team/{own.id}/role", {"org_role": "staff"})

    db.session.expire_all()
    assert accounts.staff_membership(owner).org_role is OrgRole.OWNER
    assert _audit("team.role_changed") == [] and _audit("team.removed") == []


def test_a_second_owner_can_be_demoted_and_the_change_is_audited(app, client, make_provider, make_provider_staff):
    provider = make_provider()
    owner, other = make_provider_staff(provider, name="First Owner"), make_provider_staff(provider, name="Second Owner")
    sign_in(client, owner)
    theirs, own = accounts.staff_membership(other), accounts.staff_membership(owner)
    response = post_form(client, f"/provider/team/{theirs.id}/role", {"org_role": "manager"})
    assert response.headers["Location"] == "/provider/team"
    [event] = _audit("team.role_changed")
    assert (event.actor_id, event.target_type, event.target_id) == (owner.id, "provider", str(provider.id))
    assert event.before == {"user": other.email, "org_role": "owner"} and event.after == {"user": other.email, "org_role": "manager"}
    assert "Your role at" in visible_text(_client_of(app, other).get("/notifications"))
    # Now the only owner: demoting themselves is refused.
    assert "at least one owner" in visible_text(post_form(client, f"/provider/team/{own.id}/role", {"org_role": "manager"}))
    assert len(_audit("team.role_changed")) == 1


def _client_of(app, user):
    client = app.test_client()
    sign_in(client, user)
    return client


@pytest.mark.parametrize("move", ["demote themselves", "remove each other"])
def test_two_owners_acting_at_the_same_moment_leave_one_owner(app, make_provider, make_provider_staff, move):
    """The owner count is checked under a lock on the provider: without it, both owners
    could demote themselves (or remove each other) at once and leave nobody in charge."""
    import threading

    from app.services import team
    from app.services.errors import DomainError

    provider = make_provider()
    owners = [make_provider_staff(provider), make_provider_staff(provider)]
    ids = [(u.id, accounts.staff_membership(u).id) for u in owners]
    provider_id = provider.id
    db.session.commit()
    barrier, results = threading.Barrier(2), [None, None]

    def act(i):
        with app.app_context():
            try:
                actor, target = db.session.get(User, ids[i][0]), ids[i][1] if move == "demote themselves" else ids[1 - i][1]
                barrier.wait(timeout=30)
                org = db.session.get(Provider, provider_id)
                if move == "demote themselves":
                    team.change_role(actor, org, target, OrgRole.MANAGER)
                else:
                    team.remove(actor, org, target)
                results[i] = "ok"
            except DomainError as exc:
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    db.session.expire_all()
    assert sorted(r == "ok" for r in results) == [False, True], results
    owners_left = db.session.execute(
        select(func.count())
        .select_from(ProviderStaff)
        .where(ProviderStaff.provider_id == provider_id, ProviderStaff.org_role == OrgRole.OWNER)
    ).scalar_one()
    assert owners_left == 1


# -- Enquiries and representatives -----------------------------------------------------------


def test_enquiry_thread_in_both_inboxes_with_notifications_and_response_times(
    app, make_service, make_citizen, make_provider_staff, make_representative
):
    service = make_service()
    citizen = make_citizen()
    rep = make_representative(citizen)
    staff = make_provider_staff(service.provider)
    asker = app.test_client()
    sign_in(asker, rep)
    form = asker.get(f"/services/{service.id}/ask")
    assert "Who is this enquiry for?" not in visible_text(form)  # only one person to ask for
    post_form(
        asker,
        f"/services/{service.id}/ask",
        {"citizen": str(citizen.id), "subject": "Weekend visits?", "body": "Do you visit on Saturdays?"},
    )
    enquiry = db.session.execute(select(Enquiry)).scalar_one()
    assert enquiry.citizen_id == citizen.id and enquiry.started_by_id == rep.id

    provider_side = app.test_client()
    sign_in(provider_side, staff)
    assert "Weekend visits?" in visible_text(provider_side.get("/provider/enquiries"))
    assert "New enquiry about" in visible_text(provider_side.get("/notifications"))
    post_form(
        provider_side, f"/provider/enquiries/{enquiry.id}/reply", {"body": "Yes, from 8am."}, form_page=f"/provider/enquiries/{enquiry.id}"
    )

    citizen_side = app.test_client()
    sign_in(citizen_side, citizen)
    inbox = visible_text(citizen_side.get("/enquiries"))
    assert "Weekend visits?" in inbox and "New reply" in inbox
    thread = visible_text(citizen_side.get(f"/enquiries/{enquiry.id}"))
    assert "Do you visit on Saturdays?" in thread and "Yes, from 8am." in thread
    assert any(
        n.subject.endswith("has replied")
        for n in db.session.execute(select(Notification).where(Notification.user_id == citizen.id)).scalars()
    )
    times = enquiries.response_times(service.provider)
    assert times.answered == 1 and times.median is not None and times.within_one_working_day_percent == 100
    assert "You usually reply within" in visible_text(provider_side.get("/provider/enquiries"))


def test_an_enquiry_has_one_status_in_the_list_and_on_its_page(app, make_service, make_citizen, make_provider_staff):
    """Both sides see the same status in their list as on the enquiry's page."""
    service = make_service()
    citizen = make_citizen()
    staff = make_provider_staff(service.provider)
    enquiry = enquiries.start(citizen, citizen, service, subject="Sundays?", body="Do you visit on Sundays?")
    citizen_side, provider_side = app.test_client(), app.test_client()
    sign_in(citizen_side, citizen)
    sign_in(provider_side, staff)

    def statuses():
        [listed] = [row for row in table_rows(citizen_side.get("/enquiries")) if row[0].startswith("Sundays?")]
        [provider_listed] = [row for row in table_rows(provider_side.get("/provider/enquiries")) if row[0].startswith("Sundays?")]
        return (
            summary_rows(citizen_side.get(f"/enquiries/{enquiry.id}"))["Status"],
            [cell for cell in listed if cell in ("Replied", "Waiting for the provider", "Closed")],
            summary_rows(provider_side.get(f"/provider/enquiries/{enquiry.id}"))["Status"],
            [cell for cell in provider_listed if cell in ("Replied: waiting for them", "Waiting for your reply", "Closed")],
        )

    assert statuses() == ("Waiting for the provider", ["Waiting for the provider"], "Waiting for your reply", ["Waiting for your reply"])
    enquiries.reply_as_provider(staff, enquiry, "Yes, we do.")
    assert statuses() == ("Replied", ["Replied"], "Replied: waiting for them", ["Replied: waiting for them"])
    enquiries.close(staff, enquiry)
    assert statuses() == ("Closed", ["Closed"], "Closed", ["Closed"])


def test_a_representative_sees_only_the_citizen_who_invited_them(app, make_citizen, make_service):
    citizen_a, citizen_b = make_citizen(), make_citizen()
    service = make_service()
    a_client = app.test_client()
    sign_in(a_client, citizen_a)
    post_form(a_client, "/account/representatives/invite", {"email": "daughter@example.test", "relationship": "daughter"})
    path = link_in(outbox("daughter@example.test")[-1], "/invitations/")
    rep_client = app.test_client()
    post_form(rep_client, path, {"name": "Dee Daughter", "password": "paper boats at sea"})
    rep = accounts.user_by_email("daughter@example.test")
    assert rep.role is Role.REPRESENTATIVE
    assert accounts.can_act_for(rep, citizen_a) and not accounts.can_act_for(rep, citizen_b)
    assert accounts.citizens_represented_by(rep) == [citizen_a]
    assert "can now act for you" in visible_text(a_client.get("/notifications"))

    b_enquiry = enquiries.start(citizen_b, citizen_b, service, subject="B's private question", body="Private")
    assert rep_client.get(f"/enquiries/{b_enquiry.id}").status_code == 404
    assert "B's private question" not in visible_text(rep_client.get("/enquiries"))

    row = db.session.execute(select(__import__("app.models", fromlist=["Representation"]).Representation)).scalar_one()
    post_form(a_client, f"/account/representatives/{row.id}/remove", form_page="/account/representatives")
    assert not accounts.can_act_for(rep, citizen_a)
    assert rep_client.get(f"/services/{service.id}/ask").status_code == 200
    assert "You do not act for anyone" in visible_text(rep_client.get(f"/services/{service.id}/ask"))


def test_representation_events_are_audited_with_who_and_what(app, make_citizen, make_commissioner):
    citizen = make_citizen(name="Margaret")
    a_client = _client_of(app, citizen)
    post_form(a_client, "/account/representatives/invite", {"email": "susan@example.test", "relationship": "daughter"})
    [invited] = _audit("representation.invited")
    assert (invited.actor_id, invited.target_type) == (citizen.id, "invitation")
    assert invited.after == {"email": "susan@example.test", "relationship": "daughter"}

    path = link_in(outbox("susan@example.test")[-1], "/invitations/")
    rep_client = app.test_client()
    post_form(rep_client, path, {"name": "Susan", "password": "paper boats at sea"})
    rep = accounts.user_by_email("susan@example.test")
    [started] = _audit("representation.started")
    assert (started.actor_id, started.target_type, started.target_id) == (rep.id, "user", str(citizen.id))
    assert started.after == {"representative": "susan@example.test", "relationship": "daughter"}

    row = db.session.execute(select(__import__("app.models", fromlist=["Representation"]).Representation)).scalar_one()
    post_form(rep_client, f"/account/people/{row.id}/stop", form_page="/account/people")
    [ended] = _audit("representation.ended")
    assert (ended.actor_id, ended.target_id) == (rep.id, str(citizen.id))
    assert ended.before == {"representative": "susan@example.test", "relationship": "daughter"} and ended.after is None
    trail = visible_text(_client_of(app, make_commissioner()).get("/commissioner/audit?action=representation.ended"))
    assert "1 record" in trail


def test_can_act_for_refuses_everyone_else(make_citizen, make_provider_staff, make_commissioner):
    citizen = make_citizen()
    assert accounts.can_act_for(citizen, citizen)
    for other in (make_citizen(), make_provider_staff(), make_commissioner(), None):
        assert not accounts.can_act_for(other, citizen)
    citizen.active = False
    db.session.commit()
    assert not accounts.can_act_for(citizen, citizen)


# -- Framework, settings and audit ------------------------------------------------------------


def test_framework_weights_must_add_up_and_decisions_are_audited(app, client, make_commissioner, make_lot, make_provider, make_service):
    lot = make_lot("home-care")
    provider = make_provider()
    make_service(provider=provider, category="home-care")
    sign_in(client, make_commissioner())
    edit, reviews_as_they_are = f"/commissioner/framework/lots/{lot.id}/edit", {"review_weight": "0", "review_minimum": "10"}
    bad = post_form(client, edit, {"name": lot.name, "quality_weight": "70", "price_weight": "40", **reviews_as_they_are})
    assert "must add up to 100" in visible_text(bad)
    post_form(client, edit, {"name": lot.name, "quality_weight": "70", "price_weight": "30", **reviews_as_they_are})
    db.session.refresh(lot)
    assert (lot.quality_weight, lot.price_weight) == (70, 30)
    changed = _audit("framework.lot_weights_changed")[0]
    assert changed.before == {"quality_weight": 60, "price_weight": 40, "review_weight": 0, "review_minimum": 10}
    assert changed.after == {"quality_weight": 70, "price_weight": 30, "review_weight": 0, "review_minimum": 10}

    post_form(client, f"/commissioner/framework/lots/{lot.id}/approve", {"provider_id": str(provider.id), "reason": "Tender 2025/14"})
    membership = db.session.execute(select(FrameworkMembership)).scalar_one()
    assert membership.status is MembershipStatus.APPROVED
    empty = post_form(client, f"/commissioner/framework/lots/{lot.id}/memberships/{membership.id}/suspend", {"reason": ""})
    assert "Enter the reason" in visible_text(empty)
    post_form(client, f"/commissioner/framework/lots/{lot.id}/memberships/{membership.id}/suspend", {"reason": "Inadequate rating"})
    db.session.refresh(membership)
    assert membership.status is MembershipStatus.SUSPENDED and membership.reason == "Inadequate rating"
    assert [e.action for e in _audit("framework.membership_approved") + _audit("framework.membership_suspended")] == [
        "framework.membership_approved",
        "framework.membership_suspended",
    ]

    trail = client.get("/commissioner/audit?action=framework.membership_suspended")
    assert "Inadequate rating" in visible_text(trail)
    assert "1 record" in visible_text(trail)
    csv = client.get("/commissioner/audit.csv?action=framework.membership_suspended")
    assert csv.mimetype == "text/csv" and "framework.membership_suspended" in csv.get_data(as_text=True)


def test_council_settings_change_the_name_people_see(client, make_commissioner, make_district):
    make_district("PE1")
    make_district("PE2")
    sign_in(client, make_commissioner())
    bad = post_form(
        client, "/commissioner/settings", {"name": "Fenland Council", "districts": "PE1, ZZ99, nonsense", "cancellation_notice_hours": "24"}
    )
    assert "These are not: NONSENSE" in visible_text(bad)
    post_form(
        client,
        "/commissioner/settings",
        {"name": "Fenland Council", "districts": "pe2 PE1", "contact_email": "care@fenland.test", "cancellation_notice_hours": "48"},
    )
    page = client.get("/")
    assert "Fenland Council" in visible_text(page)
    assert "care@fenland.test" in visible_text(client.get("/accessibility"))
    assert _audit("council.settings_changed")[0].after["name"] == "Fenland Council"
    assert _audit("council.settings_changed")[0].after["cancellation_notice_hours"] == 48


def test_the_free_cancellation_notice_is_a_council_setting(client, make_commissioner, make_district):
    from app.services.policy import current_policy

    make_district("PE1")
    sign_in(client, make_commissioner())
    assert current_policy().cancellation_notice_hours == 24  # the default until the council sets it
    for bad in ("-1", "169", "a day", "2.5"):
        response = post_form(client, "/commissioner/settings", {"name": "Council", "districts": "PE1", "cancellation_notice_hours": bad})
        assert "Enter the notice in whole hours, from 0 to 168 (a week)" in visible_text(response), bad
    post_form(client, "/commissioner/settings", {"name": "Council", "districts": "PE1", "cancellation_notice_hours": "72"})
    db.session.expire_all()
    assert current_policy().cancellation_notice_hours == 72


def test_nobody_can_edit_the_audit_trail(app, make_citizen):
    from app.services import audit

    event = audit.record(make_citizen(), "account.registered", "user", 1)
    db.session.commit()
    event.note = "changed"
    with pytest.raises(AuditEventImmutable):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(Exception, match="cannot be changed or deleted"):
        db.session.execute(text("UPDATE audit_events SET note = 'x'"))
    db.session.rollback()
    with pytest.raises(Exception, match="cannot be changed or deleted"):
        db.session.execute(text("DELETE FROM audit_events"))
    db.session.rollback()
    assert db.session.execute(select(AuditEvent.note)).scalar_one() is None


def test_only_admins_change_council_roles_and_never_their_own(app, client, make_admin, make_commissioner, make_citizen):
    admin, commissioner = make_admin(), make_commissioner()
    sign_in(client, admin)
    other = app.test_client()
    sign_in(other, commissioner)
    post_form(client, f"/admin/users/{commissioner.id}/role", {"role": "admin"})
    db.session.refresh(commissioner)
    assert commissioner.role is Role.ADMIN
    assert other.get("/commissioner").status_code == 302  # signed out by the change
    event = _audit("account.role_changed")[0]
    assert (event.before, event.after) == ({"role": "commissioner"}, {"role": "admin"})
    assert client.get(f"/admin/users/{admin.id}/role").status_code == 404
    assert client.get(f"/admin/users/{make_citizen().id}/role").status_code == 404


def test_admin_adds_a_commissioner_who_sets_a_password_by_email(app, client, make_admin):
    sign_in(client, make_admin())
    post_form(client, "/admin/users/new", {"name": "Cat Council", "email": "cat@council.test", "role": "commissioner"})
    user = accounts.user_by_email("cat@council.test")
    assert user.role is Role.COMMISSIONER and user.password_hash is None
    path = link_in(outbox("cat@council.test")[-1], "/password/reset/")
    newcomer = app.test_client()
    assert h1(newcomer.get(path)) == "Choose your password"
    post_form(newcomer, path, {"password": "granite moth orchestra"})
    sign_in(newcomer, user, "granite moth orchestra")
    assert newcomer.get("/commissioner").status_code == 200
    assert "Email outbox" in visible_text(client.get("/admin/emails"))
    _ = User


def test_the_public_service_page_offers_to_ask_a_question(app, make_service, make_citizen):
    service = make_service()
    anonymous = app.test_client().get(f"/services/{service.id}")
    from tests.helpers import links

    link = links(anonymous)[f"Ask {service.provider.name} a question about this service"]
    assert link == f"/services/{service.id}/ask"
    assert app.test_client().get(link).headers["Location"] == f"/sign-in?next=/services/{service.id}/ask"


# -- The audit CSV cannot run formulas in a spreadsheet ----------------------------


def test_the_audit_csv_guards_every_text_column_against_formulas(app, client, make_commissioner):
    import csv
    import io

    typed = '=hyperlink("https://evil.example","click")'  # emails are kept in lower case
    for _ in range(5):  # a burst against an email nobody has: the typed text becomes the record
        post_form(app.test_client(), "/sign-in", {"email": typed, "password": "wrong"})
    [burst] = _audit("sign_in.failure_burst")
    assert burst.target_id == typed[:60]
    sign_in(client, make_commissioner(name="@Chief Officer"))
    from app.services import audit

    audit.record(None, "council.settings_changed", "-council", "+1", after={"name": "x"}, note="\t=1+1", ip_address="-1.2.3.4")
    db.session.commit()
    rows = list(csv.reader(io.StringIO(client.get("/commissioner/audit.csv").get_data(as_text=True))))
    header, cells = rows[0], [cell for row in rows[1:] for cell in row]
    assert header[5] == "record"
    assert "'" + typed[:60] in cells
    for cell in cells:
        assert cell.lstrip(" ")[:1] not in ("=", "+", "-", "@", "\t", "\r", "\n"), cell


def test_the_audit_trail_shows_each_change_in_words_and_the_csv_keeps_the_raw_values(
    app, client, make_commissioner, make_citizen, make_provider, category
):
    import csv
    import io

    from app.services import audit

    citizen = make_citizen(name="Margaret Holloway")
    provider = make_provider(name="Riverside Carers")
    audit.record(
        None,
        "budget.created",
        "personal_budget",
        7,
        after={
            "citizen_id": citizen.id,
            "type": "managed_account",
            "isf_provider_id": provider.id,
            "amount_per_period_pence": 42_000,
            "starts_on": "2026-04-06",
            "outcomes": ["Get up", "Go out"],
        },
    )
    audit.record(
        None,
        "service.price_changed",
        "service",
        3,
        before={"price_pence": 2660, "category_id": category("home-care").id, "description": "Line one\n\nLine two"},
        after={"price_pence": 2700, "category_id": category("day-opportunities").id, "description": "Line one"},
    )
    db.session.commit()
    sign_in(client, make_commissioner())
    text = visible_text(client.get("/commissioner/audit"))
    for words in (
        "Citizen: Margaret Holloway",
        "Type of budget: managed account",
        "Provider holding the fund: Riverside Carers",
        "Amount every 4 weeks: £420",
        "Starts: 6 April 2026",
        "Support plan outcomes: Get up, Go out",
        "Price: £26.60 → changed to £27",
        "Type of support: Home care → changed to Day opportunities",
    ):
        assert words in text, words
    assert '"citizen_id"' not in text and "2660" not in text and "\\n" not in text
    rows = list(csv.reader(io.StringIO(client.get("/commissioner/audit.csv").get_data(as_text=True))))
    raw = {row[3]: row for row in rows[1:]}
    assert '"price_pence": 2660' in raw["service.price_changed"][6] and f'"citizen_id": {citizen.id}' in raw["budget.created"][7]


def test_safe_cell_leaves_numbers_and_plain_text_alone():
    from app.presenters.csv_export import safe_cell

    assert safe_cell("Home care") == "Home care"
    assert safe_cell(12) == 12 and safe_cell(None) is None
    for formula in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1", "  =1", "＝1"):
        assert safe_cell(formula) == "'" + formula


def test_approving_a_provider_on_a_lot_needs_a_reason_which_is_audited(
    app, client, make_commissioner, make_lot, make_provider, make_provider_staff, make_service
):
    lot = make_lot("home-care")
    provider = make_provider()
    staff = make_provider_staff(provider)
    make_service(provider=provider, category="home-care")
    sign_in(client, make_commissioner())
    for reason in ("", "   "):
        response = post_form(client, f"/commissioner/framework/lots/{lot.id}/approve", {"provider_id": str(provider.id), "reason": reason})
        assert response.status_code == 200
        assert "Enter the reason for the approval, for example the tender reference" in visible_text(response)
    both = post_form(client, f"/commissioner/framework/lots/{lot.id}/approve", {"provider_id": "0", "reason": ""})
    assert "Select a provider" in visible_text(both) and "Enter the reason for the approval" in visible_text(both)
    assert db.session.execute(select(FrameworkMembership)).first() is None
    assert _audit("framework.membership_approved") == []

    post_form(
        client, f"/commissioner/framework/lots/{lot.id}/approve", {"provider_id": str(provider.id), "reason": "Tender 2025/14, lot 1"}
    )
    [event] = _audit("framework.membership_approved")
    assert event.before is None and event.after["reason"] == "Tender 2025/14, lot 1" and event.after["status"] == "approved"
    notes = db.session.execute(select(Notification).where(Notification.user_id == staff.id)).scalars().all()
    assert any("The reason given: Tender 2025/14, lot 1" in n.body for n in notes)

    # Lifting a suspension needs a reason too, and the trail keeps the one it replaces.
    membership = db.session.execute(select(FrameworkMembership)).scalar_one()
    post_form(client, f"/commissioner/framework/lots/{lot.id}/memberships/{membership.id}/suspend", {"reason": "Late returns"})
    post_form(client, f"/commissioner/framework/lots/{lot.id}/approve", {"provider_id": str(provider.id), "reason": "Returns received"})
    lifted = _audit("framework.membership_approved")[-1]
    assert lifted.before == {"status": "suspended", "reason": "Late returns"} and lifted.after["reason"] == "Returns received"
