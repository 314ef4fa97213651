"""Visits in people's own calendars: a secret, revocable address per person that phone and
desktop calendars subscribe to (an iCalendar feed), and one booking's visits as a file.

whose    whose visits a person follows (their own, the people they act for, their
         organisation's), and from which side they see them
events   one visit as a calendar event: stable UID, UK times, status, nothing about money
files    the feed and the booking file, with the Europe/London time zone, written by icalendar
feeds    the secret address: made (shown once), replaced, turned off, found when fetched
"""

from app.services.calendars.events import event_for, status_of
from app.services.calendars.feeds import MAX_SECRET, NewFeed, feed_for_secret, live_feed, new_feed, turn_off
from app.services.calendars.files import HISTORY, booking_file, feed_file, file_name
from app.services.calendars.whose import Side, may_have_feed, may_see, visits_for
from app.services.facade import seal

__all__ = [
    "HISTORY",
    "MAX_SECRET",
    "NewFeed",
    "Side",
    "booking_file",
    "event_for",
    "feed_file",
    "feed_for_secret",
    "file_name",
    "live_feed",
    "may_have_feed",
    "may_see",
    "new_feed",
    "status_of",
    "turn_off",
    "visits_for",
]

seal(__name__)
