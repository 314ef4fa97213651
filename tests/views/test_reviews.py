"""Reviews through the real pages: the person reviews from their booking once a visit was
delivered, the provider reads it at once and replies once, and the public sees it, verified,
after 7 days or with the reply; nobody reviews what they did not use or replies for someone else."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import OrgRole, Review
from app.services import bookings, delivery
from tests.helpers import h1, links, page, post_form, visible_text
from tests.services.money_helpers import future_day, request_for

GOOD = {"rating": "4", "on_time": "yes", "dignity": "yes", "outcomes": "partly", "text": "Kind, and always on time."}


@pytest.fixture
def used(make_provider, make_provider_staff, make_service, make_citizen, make_budget, policy):
    """Alice's booking with Nene Valley, its one visit moved to yesterday and recorded as delivered."""
    provider = make_provider(name="Nene Valley Home Care")
    owner = make_provider_staff(provider)
    service = make_service(provider=provider, title="Home care visits", price_pence=2_000)
    citizen = make_citizen(name="Alice Citizen")
    budget = make_budget(citizen=citizen, amount=50_000)
    booking = bookings.create(request_for(service, budget, day=future_day(policy)), citizen=citizen, booker=citizen, policy=policy)
    bookings.accept(booking, by=owner)
    return {"provider": provider, "owner": owner, "service": service, "citizen": citizen, "booking": booking, "visit": booking.visits[0]}


def _deliver_yesterday(used) -> None:
    visit = used["visit"]
    shift = visit.starts_at - (dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    visit.starts_at -= shift
    visit.ends_at -= shift
    db.session.commit()
    actuals = delivery.Actuals(visit.id, visit.starts_at, visit.ends_at)
    delivery.record(actuals, provider=used["provider"], by=used["owner"], now=visit.ends_at + dt.timedelta(minutes=5))


def _booking_path(used) -> str:
    return f"/bookings/{used['booking'].public_id}"


def test_a_person_reviews_the_provider_replies_and_the_public_reads_it(app, client, login, used, make_provider_staff):
    _deliver_yesterday(used)
    login(client, used["citizen"])
    response = client.get(_booking_path(used))
    assert links(response)["Review this service"] == f"{_booking_path(used)}/review"
    reference = used["booking"].reference
    assert links(client.get("/bookings"))[f"Review Home care visits (booking {reference})"] == f"{_booking_path(used)}/review"

    form_path = f"{_booking_path(used)}/review"
    response = client.get(form_path)
    assert response.status_code == 200 and h1(response) == "Review Home care visits"
    response = post_form(client, form_path, {"text": "No stars chosen"})
    assert response.status_code == 200
    summary = page(response).select_one(".govuk-error-summary").get_text(" ")
    assert "Select a rating from 1 to 5" in summary and "arrived and left on time" in summary
    assert db.session.execute(db.select(Review)).first() is None

    response = post_form(client, form_path, GOOD)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"{_booking_path(used)}#review")
    text = visible_text(client.get(_booking_path(used)))
    assert "your review of Home care visits is sent" in text and "You gave Home care visits 4 out of 5" in text
    assert "Review this service" not in text and "Services you can review" not in visible_text(client.get("/bookings"))
    # Not published yet: the public does not see it.
    service_page = visible_text(client.get(f"/services/{used['service'].id}"))
    assert "No reviews yet" in service_page and "Kind, and always on time." not in service_page

    # The provider reads it at once and replies once.
    staff = app.test_client()
    login(staff, used["owner"])
    response = staff.get("/provider/reviews")
    text = visible_text(response)
    assert "4 out of 5: Home care visits" in text and "Not published yet" in text and "Kind, and always on time." in text
    review = db.session.execute(db.select(Review)).scalar_one()
    reply_path = f"/provider/reviews/{review.id}/reply"
    assert post_form(staff, reply_path, {"reply": " "}).status_code == 200
    response = post_form(staff, reply_path, {"reply": "Thank you: we will pass this on to the carers."})
    assert response.status_code == 302
    assert "Your reply is published with the review" in visible_text(staff.get(response.headers["Location"]))
    response = staff.get(reply_path)
    assert response.status_code == 302  # replied already: back to the list, with a message

    # Published with the reply, on the service's page and on the provider's.
    for path in (f"/services/{used['service'].id}", f"/providers/{used['provider'].id}"):
        text = visible_text(app.test_client().get(path))
        assert "4.0 out of 5 from 1 review" in text and "Verified: used this service" in text
        assert "Kind, and always on time." in text and "Thank you: we will pass this on to the carers." in text
        assert "Alice" not in text  # the reviewer's name is never shown


def test_nobody_reviews_what_they_did_not_use_or_someone_elses_booking(app, client, login, used, make_citizen):
    login(client, used["citizen"])
    form_path = f"{_booking_path(used)}/review"
    assert "Review this service" not in visible_text(client.get(_booking_path(used)))
    response = client.get(form_path)
    assert response.status_code == 302
    assert "once a visit has been delivered" in visible_text(client.get(response.headers["Location"]))
    _deliver_yesterday(used)
    stranger = app.test_client()
    login(stranger, make_citizen(name="Someone Else"))
    assert stranger.get(form_path).status_code == 404
    assert post_form(stranger, form_path, GOOD, form_page="/").status_code == 404
    assert db.session.execute(db.select(Review)).first() is None


def test_only_the_providers_owners_and_managers_reply_and_only_to_their_own(app, client, login, used, make_provider_staff, make_provider):
    _deliver_yesterday(used)
    login(client, used["citizen"])
    assert post_form(client, f"{_booking_path(used)}/review", GOOD).status_code == 302
    review = db.session.execute(db.select(Review)).scalar_one()
    reply_path = f"/provider/reviews/{review.id}/reply"

    carer = app.test_client()
    login(carer, make_provider_staff(used["provider"], OrgRole.STAFF))
    response = carer.get("/provider/reviews")
    assert "Kind, and always on time." in visible_text(response) and "Reply" not in links(response)
    response = carer.get(reply_path)
    assert response.status_code == 302 and "Only an owner or manager" in visible_text(carer.get(response.headers["Location"]))

    rival = app.test_client()
    login(rival, make_provider_staff(make_provider(name="Rival Care")))
    assert rival.get(reply_path).status_code == 404
    assert "Kind, and always on time." not in visible_text(rival.get("/provider/reviews"))
    db.session.expire_all()
    assert db.session.get(Review, review.id).replied_at is None


def test_the_reviews_policy_says_how_reviews_are_checked(client):
    response = client.get("/reviews-policy")
    text = visible_text(response)
    assert response.status_code == 200 and h1(response) == "How we check reviews"
    assert "never remove, hide or delay a review because it is negative" in text and "personal data" in text


def test_a_provider_reports_a_review_and_a_commissioner_decides_through_the_pages(app, client, login, used, make_commissioner):
    _deliver_yesterday(used)
    login(client, used["citizen"])
    assert (
        post_form(
            client, f"{_booking_path(used)}/review", {**GOOD, "rating": "1", "text": "My carer Jo Bloggs lives at 4 Acacia Avenue."}
        ).status_code
        == 302
    )
    review = db.session.execute(db.select(Review)).scalar_one()
    review.publishes_at -= dt.timedelta(days=8)  # a week on: published
    db.session.commit()
    assert "Acacia" in visible_text(app.test_client().get(f"/services/{used['service'].id}"))

    provider = app.test_client()
    login(provider, used["owner"])
    response = provider.get("/provider/reviews")
    report_path = f"/provider/reviews/{review.id}/report"
    assert (
        links(response)[
            f"Report it: it breaks the review policy (the review of {review.created_at:%-d %B %Y} for booking {used['booking'].reference})"
        ]
        == report_path
    )
    response = post_form(provider, report_path, {"note": "Names our carer"})
    assert response.status_code == 200 and "Select which part of the review policy it breaks" in visible_text(response)
    response = post_form(provider, report_path, {"reason": "personal_data", "note": "It names our carer and where she lives"})
    assert response.status_code == 302
    text = visible_text(provider.get(response.headers["Location"]))
    assert "The council will check the review" in text and "Reported" in text

    council = app.test_client()
    login(council, make_commissioner())
    response = council.get("/commissioner")
    assert "Reviews reported by providers 1" in visible_text(response)
    response = council.get("/commissioner/reviews")
    [link] = [href for href in links(response).values() if "/commissioner/reviews/reports/" in href]
    response = council.get(link)
    assert "It names our carer and where she lives" in visible_text(response)
    assert post_form(council, link, {"decision": "personal_data"}).status_code == 200  # no reason given: asked for one
    response = post_form(council, link, {"decision": "personal_data", "note": "It gives a carer's name and home address"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Review, review.id).removed_at is not None
    assert "Taken down by the council" in visible_text(provider.get("/provider/reviews"))
    assert "Acacia" not in visible_text(app.test_client().get(f"/services/{used['service'].id}"))
    assert "review kept" not in visible_text(council.get(link)).lower() and "Review taken down" in visible_text(council.get(link))
