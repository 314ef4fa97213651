"""An expired request as each side sees it: the person is shown other services that could
take the same visits, best first; the provider's list shows it expired; the commissioner
sets how long providers have to answer."""

from __future__ import annotations

import datetime as dt

import pytest

from app.extensions import db
from app.models import AuditEvent, Booking, PriceUnit
from app.services import bookings, council
from tests.helpers import page, post_form, visible_text
from tests.services.money_helpers import future_day, request_for
from tests.services.test_search import index  # noqa: F401 - the index fixture, used by name


@pytest.fixture
def lapsed(
    index,  # noqa: F811 - the fixture imported above
    make_citizen,
    make_provider,
    make_provider_staff,
    make_service,
    make_budget,
    make_district,
    make_lot,
    make_membership,
    policy,
):
    """A request for home care in PE1 that Slow Care let lapse, and the market around it."""
    lot = make_lot("home-care", quality_weight=50, price_weight=50)
    slow = make_provider(name="Slow Care")
    slow_staff = make_provider_staff(slow)
    service = make_service(provider=slow, title="Slow home care", price_pence=2_000, capacity=2)
    citizen = make_citizen(name="Alice Citizen")
    budget = make_budget(citizen=citizen, amount=42_000)
    day = future_day(policy)
    booking = bookings.create(request_for(service, budget, day=day), citizen=citizen, booker=citizen, policy=policy)

    def listing(name, price, *, member=True, **extra):
        provider = make_provider(name=name, base_district=extra.pop("base_district", "PE1"))
        if member:
            make_membership(lot, provider)
        return make_service(provider=provider, title=f"{name} visits", price_pence=price, price_unit=PriceUnit.HOUR, **extra)

    make_membership(lot, slow)
    first = listing("Cheap Framework Care", 1_800)
    second = listing("Dear Framework Care", 2_600)
    third = listing("Off Framework Care", 1_500, member=False)
    full = listing("Full Framework Care", 1_000, capacity=1)
    listing("Window Cleaners", 900, category="cleaning")
    make_district("NR1", lat=52.63, lon=1.29, town="Norwich")
    listing("Norwich Care", 1_200, base_district="NR1")
    # Someone else takes Full Framework Care's only place at the time asked for.
    other = make_budget(amount=10_000)
    bookings.create(request_for(full, other, day=day), citizen=other.citizen, booker=other.citizen, policy=policy)

    bookings.expire_unanswered(now=db.session.get(Booking, booking.id).requested_notified_at + dt.timedelta(hours=48))
    db.session.expire_all()
    return booking, citizen, slow_staff, [first, second, third]


def test_the_person_sees_other_services_for_the_same_visits_best_first(client, login, lapsed):
    booking, citizen, slow_staff, expected = lapsed
    login(client, citizen)
    response = client.get(f"/bookings/{booking.public_id}")
    assert response.status_code == 200
    text = visible_text(response)
    assert "Expired: no answer from the provider" in text
    assert "Slow Care did not accept or decline this request in time, so it has expired" in text
    assert "Other services that could provide these visits" in text
    section = page(response).select_one("ol.app-alternatives")
    titles = [h.get_text(strip=True) for h in section.select("h3")]
    # Framework members in rank order (cheapest first, as quality is equal), then the rest; not
    # the provider that let it lapse, another type of support, one too far away or one full then.
    assert titles == [s.title for s in expected]
    hrefs = [a["href"] for a in section.select("a")]
    assert f"/services/{expected[0].id}" in hrefs and f"/services/{expected[0].id}/book" in hrefs
    assert "Expired: Slow Care did not accept or decline it within 48 hours" in text  # the timeline
    visits = page(response).select_one("table caption", string="Visits").find_parent("table").get_text(" ", strip=True)
    assert "Not answered in time (nothing charged)" in visits and "Declined" not in visits
    # The book link works for the person.
    assert client.get(f"/services/{expected[0].id}/book").status_code == 200


def test_someone_elses_expired_booking_is_not_found(client, login, lapsed, make_citizen):
    booking, *_ = lapsed
    login(client, make_citizen())
    assert client.get(f"/bookings/{booking.public_id}").status_code == 404


def test_the_provider_sees_the_request_expired_among_finished_bookings(client, login, lapsed):
    booking, citizen, slow_staff, _ = lapsed
    login(client, slow_staff)
    assert booking.reference not in visible_text(client.get("/provider/bookings"))
    finished = visible_text(client.get("/provider/bookings?show=closed"))
    assert booking.reference in finished and "Expired: no answer from the provider" in finished
    detail = client.get(f"/provider/bookings/{booking.public_id}")
    assert detail.status_code == 200 and "Expired: no answer from the provider" in visible_text(detail)
    assert "Not answered in time (nothing charged)" in visible_text(detail)
    assert "Accept" not in [b.get_text(strip=True) for b in page(detail).select("button")]


def test_an_open_request_shows_no_alternatives(client, login, make_citizen, make_service, make_budget, policy):
    citizen = make_citizen()
    budget = make_budget(citizen=citizen)
    booking = bookings.create(request_for(make_service(), budget, day=future_day(policy)), citizen=citizen, booker=citizen, policy=policy)
    login(client, citizen)
    text = visible_text(client.get(f"/bookings/{booking.public_id}"))
    assert "Waiting for provider" in text and "Other services that could provide these visits" not in text


def test_the_commissioner_sets_how_long_providers_have_to_answer(client, login, app, make_commissioner, make_district):
    make_district("PE1")
    login(client, make_commissioner())
    form = client.get("/commissioner/settings")
    assert page(form).select_one("input[name=request_expiry_hours]")["value"] == "48"
    about = {"name": "Peterborough City Council", "districts": "PE1", "cancellation_notice_hours": "24"}
    for bad in ("11", "337", "two days", ""):
        response = post_form(client, "/commissioner/settings", {**about, "request_expiry_hours": bad})
        assert response.status_code == 200 and "Enter the time to answer a request" in visible_text(response), bad
    assert council.current().request_expiry_hours == 48
    done = post_form(client, "/commissioner/settings", {**about, "request_expiry_hours": "72"})
    assert done.status_code == 302
    assert council.current().request_expiry_hours == 72
    changed = db.session.query(AuditEvent).filter_by(action="council.settings_changed").order_by(AuditEvent.id.desc()).first()
    assert changed.after["request_expiry_hours"] == 72
    # A form that leaves it out (an older page or a script) keeps it.
    post_form(client, "/commissioner/settings", about)
    assert council.current().request_expiry_hours == 72
