"""Visits in people's own calendars: the feed and booking files are valid RFC 5545 with UK
time defined, show each person the visits they may see and no more, mark cancellations,
and the secret address is kept only as a hash, replaced or turned off at once, audited."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from app.models import AuditEvent, BookingStatus, CalendarFeed, Representation, User, VisitStatus
from app.services import bookings, calendars
from app.services.calendars import feeds
from app.services.errors import Conflict, NotFound
from tests.helpers import run_at_once
from tests.services.calendar_helpers import (
    booking_with_visits,
    events_by_uid,
    offset_by_the_files_own_rules,
    parsed,
    uk,
    visit_uid,
)
from tests.services.money_helpers import future_day, request_for
from tests.services.test_money_concurrency import first_and_second, slow_down


@pytest.fixture
def people(make_citizen, make_representative, make_provider, make_provider_staff, make_service):
    """Alice (with Rob acting for her) books provider X; Bea books provider Y."""
    provider_x = make_provider(name="Nene Valley Care", address_line1="1 High Street")
    provider_y = make_provider(name="Fenland Helpers")
    alice, bea = make_citizen(name="Alice Archer"), make_citizen(name="Bea Brown")
    return {
        "alice": alice,
        "bea": bea,
        "rob": make_representative(alice, name="Rob Archer"),
        "staff_x": make_provider_staff(provider_x),
        "staff_y": make_provider_staff(provider_y),
        "service_x": make_service(provider=provider_x, title="Home care visits"),
        "service_y": make_service(provider=provider_y, title="Sitting service"),
    }


def _feed_of(user) -> bytes:
    made = calendars.new_feed(user)
    return calendars.feed_file(calendars.feed_for_secret(made.secret))


def test_a_feed_is_a_valid_calendar_with_uk_time_defined_and_every_event_complete(people):
    next_year = utcnow().year + 1
    booking = booking_with_visits(people["service_x"], people["alice"], [uk(next_year, 7, 15), uk(next_year, 1, 15)])
    body = _feed_of(people["alice"])

    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")
    assert all(len(line) <= 75 for line in body.split(b"\r\n")), "content lines are folded at 75 octets"
    calendar = parsed(body)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"])
    assert [str(tz["TZID"]) for tz in calendar.timezones] == ["Europe/London"]
    assert {rule.name for rule in calendar.timezones[0].subcomponents} == {"STANDARD", "DAYLIGHT"}
    events = events_by_uid(calendar)
    assert set(events) == {visit_uid(v) for v in booking.visits}
    for event in events.values():
        for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "SEQUENCE", "LAST-MODIFIED", "STATUS"):
            assert required in event, required
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        assert event["DTEND"].params["TZID"] == "Europe/London"
        assert str(event["SUMMARY"]) == "Home care visits with Nene Valley Care"
        assert str(event["STATUS"]) == "CONFIRMED"
    assert b"DTSTART;TZID=Europe/London:" in body


def test_a_visit_in_summer_time_is_bst_and_one_in_winter_is_gmt(people):
    next_year = utcnow().year + 1
    summer, winter = uk(next_year, 7, 15, 10), uk(next_year + 1, 1, 15, 10)
    booking = booking_with_visits(people["service_x"], people["alice"], [summer, winter])
    calendar = parsed(_feed_of(people["alice"]))
    events = events_by_uid(calendar)
    by_start = {v.starts_at: events[visit_uid(v)] for v in booking.visits}

    summer_event = by_start[summer.astimezone(dt.UTC)]
    winter_event = by_start[winter.astimezone(dt.UTC)]
    assert summer_event.decoded("DTSTART").strftime("%H:%M") == "10:00"
    assert summer_event.decoded("DTSTART").utcoffset() == dt.timedelta(hours=1)
    assert winter_event.decoded("DTSTART").strftime("%H:%M") == "10:00"
    assert winter_event.decoded("DTSTART").utcoffset() == dt.timedelta(0)
    # The file's own time zone rules agree, so a calendar that reads only them is right too.
    assert offset_by_the_files_own_rules(calendar, summer) == dt.timedelta(hours=1)
    assert offset_by_the_files_own_rules(calendar, winter) == dt.timedelta(0)
    assert summer_event.decoded("DTSTART").astimezone(dt.UTC) == summer.astimezone(dt.UTC)


def test_the_feed_holds_the_last_three_months_and_every_visit_to_come(people):
    now = utcnow()
    old, recent, ahead = now - dt.timedelta(days=120), now - dt.timedelta(days=30), now + dt.timedelta(days=400)
    booking = booking_with_visits(people["service_x"], people["alice"], [old, recent, ahead], visit_status=VisitStatus.DELIVERED)
    events = events_by_uid(parsed(_feed_of(people["alice"])))
    four_months_ago, a_month_ago, next_year = booking.visits  # earliest first
    assert visit_uid(four_months_ago) not in events
    assert visit_uid(a_month_ago) in events and visit_uid(next_year) in events


def test_a_cancelled_or_declined_visit_is_cancelled_in_the_calendar_with_a_higher_sequence(
    people, make_budget, policy, make_citizen, make_service
):
    alice, staff = people["alice"], people["staff_x"]
    budget = make_budget(citizen=alice)
    booking = bookings.create(request_for(people["service_x"], budget, day=future_day(policy)), citizen=alice, booker=alice, policy=policy)
    (visit,) = booking.visits
    requested = events_by_uid(parsed(_feed_of(alice)))[visit_uid(visit)]
    assert (str(requested["STATUS"]), requested["SEQUENCE"]) == ("TENTATIVE", 0)

    bookings.accept(booking, by=staff)
    accepted = events_by_uid(parsed(_feed_of(alice)))[visit_uid(visit)]
    assert (str(accepted["STATUS"]), accepted["SEQUENCE"]) == ("CONFIRMED", 1)

    bookings.cancel(db.session.get(type(booking), booking.id), by=alice, policy=policy)
    cancelled = events_by_uid(parsed(_feed_of(alice)))[visit_uid(visit)]
    assert (str(cancelled["STATUS"]), cancelled["SEQUENCE"]) == ("CANCELLED", 2)
    assert str(cancelled["SUMMARY"]).startswith("Cancelled: ")
    assert cancelled.decoded("LAST-MODIFIED") >= accepted.decoded("LAST-MODIFIED")

    declined = bookings.create(
        request_for(people["service_x"], budget, day=future_day(policy), at="14:00"), citizen=alice, booker=alice, policy=policy
    )
    bookings.decline(declined, by=staff, reason="No carers free then")
    event = events_by_uid(parsed(_feed_of(alice)))[visit_uid(declined.visits[0])]
    assert str(event["STATUS"]) == "CANCELLED"
    assert "declined by the provider" in str(event["DESCRIPTION"])


def test_a_representative_sees_the_visits_of_the_people_they_act_for_while_they_do(people):
    alice_booking = booking_with_visits(people["service_x"], people["alice"], [utcnow() + dt.timedelta(days=5)])
    bea_booking = booking_with_visits(people["service_y"], people["bea"], [utcnow() + dt.timedelta(days=5)])
    made = calendars.new_feed(people["rob"])
    events = events_by_uid(parsed(calendars.feed_file(calendars.feed_for_secret(made.secret))))
    assert set(events) == {visit_uid(alice_booking.visits[0])}
    assert str(events[visit_uid(alice_booking.visits[0])]["SUMMARY"]) == "Home care visits for Alice Archer"
    assert visit_uid(bea_booking.visits[0]) not in events

    # Alice stops Rob acting for her: his feed stops showing her visits at the next fetch.
    db.session.execute(db.update(Representation).values(ended_at=utcnow()))
    db.session.commit()
    assert events_by_uid(parsed(calendars.feed_file(calendars.feed_for_secret(made.secret)))) == {}


def test_provider_staff_see_only_their_organisations_visits_and_the_address_once_accepted(people):
    soon = utcnow() + dt.timedelta(days=5)
    ours = booking_with_visits(
        people["service_x"], people["alice"], [soon], status=BookingStatus.REQUESTED, visit_address="2 Low Road\nPE2 2BB"
    )
    theirs = booking_with_visits(people["service_y"], people["bea"], [soon])
    made = calendars.new_feed(people["staff_x"])

    def events():
        return events_by_uid(parsed(calendars.feed_file(calendars.feed_for_secret(made.secret))))

    shown = events()
    assert set(shown) == {visit_uid(ours.visits[0])}
    event = shown[visit_uid(ours.visits[0])]
    assert str(event["SUMMARY"]) == "Home care visits for Alice Archer"
    assert "LOCATION" not in event, "the provider sees where only once it has accepted, as on its booking page"
    assert str(event["URL"]).endswith(f"/provider/bookings/{ours.public_id}")
    assert visit_uid(theirs.visits[0]) not in shown

    ours.status = BookingStatus.ACCEPTED
    db.session.commit()
    assert str(events()[visit_uid(ours.visits[0])]["LOCATION"]) == "2 Low Road, PE2 2BB"


def test_the_person_sees_where_they_go_and_nothing_about_money(people):
    booking = booking_with_visits(people["service_x"], people["alice"], [utcnow() + dt.timedelta(days=5)])
    body = _feed_of(people["alice"])
    event = events_by_uid(parsed(body))[visit_uid(booking.visits[0])]
    assert str(event["LOCATION"]).startswith("1 High Street, Peterborough")  # no visit address: the provider's
    assert "Nene Valley Care" in str(event["DESCRIPTION"]) and booking.reference in str(event["DESCRIPTION"])
    assert "£" not in body.decode() and "24.00" not in body.decode()


def test_a_booking_file_is_for_whoever_may_open_the_booking(people, make_commissioner):
    booking = booking_with_visits(people["service_x"], people["alice"], [utcnow() + dt.timedelta(days=5)])
    for viewer in ("alice", "rob", "staff_x"):
        events = events_by_uid(parsed(calendars.booking_file(booking, people[viewer])))
        assert set(events) == {visit_uid(booking.visits[0])}
    for outsider in (people["bea"], people["staff_y"], make_commissioner()):
        with pytest.raises(NotFound):
            calendars.booking_file(booking, outsider)


def test_an_empty_feed_is_still_a_valid_calendar(people):
    calendar = parsed(_feed_of(people["bea"]))
    assert calendar.events == [] and [str(tz["TZID"]) for tz in calendar.timezones] == ["Europe/London"]


# -- The secret address ------------------------------------------------------------------------


def test_the_secret_is_stored_only_as_its_hash(people):
    made = calendars.new_feed(people["alice"])
    row = db.session.get(CalendarFeed, made.feed.id)
    assert row.token_hash == hashlib.sha256(made.secret.encode()).hexdigest()
    stored = [str(value) for value in db.session.execute(select(CalendarFeed.__table__)).one()]
    assert not any(made.secret in value for value in stored)
    assert len(made.secret) >= 43  # 256 bits


def test_a_new_link_stops_the_old_one_at_once_and_turning_off_stops_it_all_audited(people):
    alice = people["alice"]
    first = calendars.new_feed(alice)
    second = calendars.new_feed(alice)
    with pytest.raises(NotFound):
        calendars.feed_for_secret(first.secret)
    assert calendars.feed_for_secret(second.secret).id == second.feed.id
    assert calendars.live_feed(alice).id == second.feed.id

    assert calendars.turn_off(alice) == second.feed.id
    with pytest.raises(NotFound):
        calendars.feed_for_secret(second.secret)
    assert calendars.live_feed(alice) is None
    assert calendars.turn_off(alice) is None  # nothing left to turn off

    trail = db.session.execute(select(AuditEvent).where(AuditEvent.actor_id == alice.id).order_by(AuditEvent.id)).scalars().all()
    assert [(e.action, e.target_id, e.note) for e in trail] == [
        ("calendar.feed_created", str(first.feed.id), None),
        ("calendar.feed_revoked", str(first.feed.id), "Replaced by a new link"),
        ("calendar.feed_created", str(second.feed.id), None),
        ("calendar.feed_revoked", str(second.feed.id), "Turned off"),
    ]
    assert trail[2].after == {"replaces": first.feed.id}
    assert all(first.secret not in str(e.after) and second.secret not in str(e.after) for e in trail)


def test_the_database_keeps_one_live_link_per_person(people):
    alice = people["alice"]
    calendars.new_feed(alice)
    db.session.add(CalendarFeed(user_id=alice.id, token_hash="0" * 64))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("secret", ["", "x", "a" * 101, "../../etc/passwd", "\u202egnp.ics"])
def test_an_unknown_secret_opens_nothing(people, secret):
    calendars.new_feed(people["alice"])
    with pytest.raises(NotFound):
        calendars.feed_for_secret(secret)


def test_a_closed_account_or_a_council_account_has_no_calendar(people, make_commissioner):
    made = calendars.new_feed(people["alice"])
    people["alice"].active = False
    db.session.commit()
    with pytest.raises(NotFound):
        calendars.feed_for_secret(made.secret)
    with pytest.raises(NotFound):
        calendars.new_feed(make_commissioner())


def test_last_used_is_noted_at_most_every_few_minutes(people):
    made = calendars.new_feed(people["alice"])
    assert made.feed.last_used_at is None
    first = utcnow()
    calendars.feed_for_secret(made.secret, now=first)
    calendars.feed_for_secret(made.secret, now=first + dt.timedelta(minutes=2))
    db.session.expire_all()
    assert db.session.get(CalendarFeed, made.feed.id).last_used_at == first
    later = first + dt.timedelta(minutes=11)
    calendars.feed_for_secret(made.secret, now=later)
    db.session.expire_all()
    assert db.session.get(CalendarFeed, made.feed.id).last_used_at == later


def test_two_new_links_at_once_leave_one_live_link_and_never_an_error_page(app, backend, monkeypatch, people):
    """The first has turned the old link off and waits; the second comes in between. On
    PostgreSQL the second is told a link was just made (the database keeps one live link);
    on SQLite writers take turns, so the second simply replaces the first's."""
    alice_id = people["alice"].id
    old = calendars.new_feed(people["alice"])
    slow_down(monkeypatch, feeds, "_turn_off_live")

    def make():
        return calendars.new_feed(db.session.get(User, alice_id)).secret

    ok, errors = run_at_once(app, 2, first_and_second(make, make))
    if backend == "postgresql":
        assert [who for who, _ in ok] == ["first"] and len(errors) == 1 and isinstance(errors[0], Conflict), (ok, errors)
    else:
        assert [who for who, _ in ok] == ["first", "second"] and errors == [], (ok, errors)
    db.session.expire_all()
    live = db.session.execute(select(CalendarFeed).where(CalendarFeed.revoked_at.is_(None))).scalars().all()
    assert len(live) == 1
    assert [secret for _, secret in ok if _opens(secret)] == [ok[-1][1]], "only the last link made works"
    assert not _opens(old.secret)
    assert calendars.feed_for_secret(ok[-1][1]).id == live[0].id


def _opens(secret: str) -> bool:
    try:
        calendars.feed_for_secret(secret)
    except NotFound:
        return False
    return True
