"""Your visits in your calendar, through the pages: making the link (shown once), the feed
at its secret address, a new link stopping the old, turning it off, the booking pages'
"Add to calendar (.ics)", and who gets what."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from app import create_app
from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, CalendarFeed
from app.public.routes import FEED_LIMIT
from app.services import bookings
from tests.helpers import h1, links, page, post_form, visible_text
from tests.services.calendar_helpers import booking_with_visits, events_by_uid, parsed, visit_uid
from tests.services.money_helpers import future_day, request_for

FEED_PATH = re.compile(r"http://localhost(/calendar/[A-Za-z0-9_-]{43}\.ics)")


@pytest.fixture
def people(make_citizen, make_representative, make_provider, make_provider_staff, make_service):
    provider_x, provider_y = make_provider(name="Nene Valley Care"), make_provider(name="Fenland Helpers")
    alice, bea = make_citizen(name="Alice Archer"), make_citizen(name="Bea Brown")
    return {
        "alice": alice,
        "bea": bea,
        "rob": make_representative(alice, name="Rob Archer"),
        "staff_x": make_provider_staff(provider_x),
        "staff_y": make_provider_staff(provider_y),
        "service_x": make_service(provider=provider_x, title="Home care visits"),
    }


def _make_link(client) -> str:
    """Make a calendar link on the account page; the feed's path, as the page shows it once."""
    response = post_form(client, "/account/calendar/new-link", {}, form_page="/account/calendar")
    assert response.status_code == 200, visible_text(response)[:300]
    assert h1(response) == "Your new calendar link"
    shown = page(response).find("input", id="calendar-link")["value"]
    match = FEED_PATH.fullmatch(shown)
    assert match, shown
    assert links(response)["subscribe to your visits in the Calendar app"] == "webcal://" + shown.split("://", 1)[1]
    return match.group(1)


def test_a_citizen_makes_a_calendar_link_sees_it_once_and_their_calendar_subscribes(client, login, people):
    alice = people["alice"]
    booking = booking_with_visits(people["service_x"], alice, [utcnow() + dt.timedelta(days=4)])
    login(client, alice)
    account = client.get("/account")
    assert links(account)["See your visits in the calendar on your phone or computer"] == "/account/calendar"
    before = client.get("/account/calendar")
    assert h1(before) == "Your visits in your calendar"
    assert "Make a calendar link" in visible_text(before)

    path = _make_link(client)
    text = visible_text(client.get("/account/calendar"))
    assert "On, made" in text and "Not used by a calendar yet" in text
    assert path.split("/")[-1].removesuffix(".ics") not in client.get("/account/calendar").get_data(as_text=True)

    calendar_app = client.application.test_client()  # no session: calendars do not sign in
    feed = calendar_app.get(path)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert feed.headers["Cache-Control"] == "private, no-store"
    assert feed.headers["Content-Disposition"] == 'inline; filename="care-visits.ics"'
    assert set(events_by_uid(parsed(feed.data))) == {visit_uid(booking.visits[0])}
    assert "Last used" in visible_text(client.get("/account/calendar"))
    assert "Not used by a calendar yet" not in visible_text(client.get("/account/calendar"))


def test_a_new_link_stops_the_old_one_and_turning_it_off_stops_it_at_once(client, login, people):
    login(client, people["alice"])
    calendar_app = client.application.test_client()
    first = _make_link(client)
    assert calendar_app.get(first).status_code == 200

    second = _make_link(client)
    assert calendar_app.get(first).status_code == 404
    assert calendar_app.get(second).status_code == 200

    response = post_form(client, "/account/calendar/turn-off", {}, form_page="/account/calendar", follow_redirects=True)
    assert "Your calendar link is turned off" in visible_text(response)
    assert "Make a calendar link" in visible_text(response)
    assert calendar_app.get(second).status_code == 404

    again = post_form(client, "/account/calendar/turn-off", {}, form_page="/account/calendar", follow_redirects=True)
    assert "You had no calendar link to turn off" in visible_text(again)
    actions = db.session.execute(select(AuditEvent.action).where(AuditEvent.action.like("calendar.%")).order_by(AuditEvent.id)).scalars()
    assert list(actions) == ["calendar.feed_created", "calendar.feed_revoked", "calendar.feed_created", "calendar.feed_revoked"]


def test_the_forms_need_their_csrf_token(client, login, people):
    login(client, people["alice"])
    _make_link(client)
    assert client.post("/account/calendar/new-link").status_code == 400
    assert client.post("/account/calendar/turn-off", data={"csrf_token": "not-the-token"}).status_code == 400
    assert db.session.execute(select(func.count()).select_from(CalendarFeed)).scalar() == 1
    assert db.session.execute(select(func.count()).select_from(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))).scalar() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/calendar/not-a-secret.ics",
        "/calendar/" + "A" * 43 + ".ics",
        "/calendar/" + "x" * 2000 + ".ics",
        "/calendar/%00.ics",
        "/calendar/.ics",
    ],
)
def test_an_unknown_secret_answers_not_found(client, people, path):
    assert client.get(path).status_code == 404


def test_the_council_has_no_calendar_page(client, login, make_commissioner):
    login(client, make_commissioner())
    assert client.get("/account/calendar").status_code == 404
    assert "in the calendar on your phone" not in visible_text(client.get("/account"))


def test_add_to_calendar_on_the_booking_page_for_each_side_and_404_for_anyone_else(app, login, people, make_budget, policy):
    alice = people["alice"]
    budget = make_budget(citizen=alice)
    booking = bookings.create(request_for(people["service_x"], budget, day=future_day(policy)), citizen=alice, booker=alice, policy=policy)
    pages = {"alice": "/bookings/{}", "rob": "/bookings/{}", "staff_x": "/provider/bookings/{}"}
    for who, pattern in pages.items():
        client = app.test_client()
        login(client, people[who])
        booking_page = client.get(pattern.format(booking.public_id))
        (link,) = [a for a in page(booking_page).find_all("a") if a.get_text(" ").startswith("Add to calendar (.ics)")]
        assert link.has_attr("download"), who
        download = client.get(link["href"])
        assert download.status_code == 200, who
        assert download.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert download.headers["Content-Disposition"] == f'attachment; filename="booking-{booking.reference}.ics"'
        assert set(events_by_uid(parsed(download.data))) == {visit_uid(booking.visits[0])}
    for who, path in (("bea", "/bookings/{}/calendar.ics"), ("staff_y", "/provider/bookings/{}/calendar.ics")):
        client = app.test_client()
        login(client, people[who])
        assert client.get(path.format(booking.public_id)).status_code == 404, who


@pytest.fixture
def limited_client(app):
    """A client of the same database with rate limits switched on (they are off in tests)."""
    limited = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR", "INSTANCE_PATH", "SERVER_NAME")},
            "RATELIMIT_ENABLED": True,
            "TESTING": True,
        }
    )
    yield limited.test_client()


def test_the_feed_is_rate_limited_per_address(limited_client, people):
    from app.services import calendars

    secret = calendars.new_feed(people["alice"]).secret
    allowed = int(FEED_LIMIT.split()[0])
    limited_client.environ_base["REMOTE_ADDR"] = "192.0.2.1"
    answers = [limited_client.get(f"/calendar/{secret}.ics").status_code for _ in range(allowed)]
    assert answers == [200] * allowed
    assert limited_client.get(f"/calendar/{secret}.ics").status_code == 429
    limited_client.environ_base["REMOTE_ADDR"] = "192.0.2.2"
    assert limited_client.get(f"/calendar/{secret}.ics").status_code == 200
