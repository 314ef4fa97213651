"""The clock of the demo's year of history, and dating what the services stamp "now".

History is made by calling the real services "as of" past moments (``now=``), in time
order. The services date what matters to the money and the booking timelines themselves;
what they stamp with the wall clock (notifications, the emails they queue, when a request
was first announced) is dated afterwards by ``Stamps``: after each call it notes how far
the notifications and emails have got and the moment the call stood for, and ``apply``
dates each call's rows with its moment. History's notices were read, and its emails
sent, when they happened, so a new demo session starts with only today's news unread.
"""

from __future__ import annotations

import datetime as dt
import heapq

from sqlalchemy import bindparam, func, select, update

from app.database import write_transaction
from app.extensions import db
from app.models import Booking, BookingEvent, EmailStatus, Notification, OutboundEmail
from app.uk_time import UK

HISTORY_PERIODS = 13  # 4-week periods of history before this one: a year
READ_AFTER = dt.timedelta(hours=5)  # history's notices were read a few hours after they came


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """A UK wall-clock moment on ``day``, in UTC (as money.py dates its history)."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=UK).astimezone(dt.UTC)


def history_start(current_period_start: dt.date) -> dt.date:
    """The first day of the history: the start of the period a year before this one."""
    return current_period_start - dt.timedelta(days=28 * HISTORY_PERIODS)


class Stamps:
    """Which notifications and emails each history call made, and when it happened."""

    def __init__(self) -> None:
        self.marks: list[tuple[int, int, dt.datetime]] = []
        self.start = self.last = self._tops()

    @staticmethod
    def _tops() -> tuple[int, int]:
        notices = select(func.coalesce(func.max(Notification.id), 0)).scalar_subquery()
        emails = select(func.coalesce(func.max(OutboundEmail.id), 0)).scalar_subquery()
        found = db.session.execute(select(notices, emails)).one()
        return int(found[0]), int(found[1])

    def mark(self, now: dt.datetime) -> None:
        """Everything made since the last mark happened at ``now``."""
        tops = self._tops()
        if tops != self.last:
            self.marks.append((*tops, now))
            self.last = tops

    def apply(self) -> None:
        """Date the rows of every marked call with the moment it stood for (one statement
        run once per call, each over the ids that call made)."""
        notices, emails = [], []
        notices_from, emails_from = self.start
        for notices_to, emails_to, now in self.marks:
            if notices_to > notices_from:
                notices.append({"lo": notices_from, "hi": notices_to, "at": now, "read": now + READ_AFTER})
            if emails_to > emails_from:
                emails.append({"lo": emails_from, "hi": emails_to, "at": now})
            notices_from, emails_from = max(notices_from, notices_to), max(emails_from, emails_to)
        n, e = Notification.__table__, OutboundEmail.__table__
        with write_transaction():
            connection = db.session.connection()
            if notices:
                dated = n.update().where(n.c.id > bindparam("lo"), n.c.id <= bindparam("hi"))
                connection.execute(dated.values(created_at=bindparam("at"), read_at=bindparam("read")), notices)
            if emails:
                sent = e.update().where(e.c.id > bindparam("lo"), e.c.id <= bindparam("hi"))
                values = {"created_at": bindparam("at"), "next_attempt_at": bindparam("at"), "sent_at": bindparam("at")}
                connection.execute(sent.values(status=EmailStatus.SENT.value, attempts=1, **values), emails)


def date_bookings(booking_ids: list[int]) -> None:
    """A history booking was announced when it was made and last changed at its last event."""
    with write_transaction():
        last = dict(
            db.session.execute(
                select(BookingEvent.booking_id, func.max(BookingEvent.at))
                .where(BookingEvent.booking_id.in_(booking_ids))
                .group_by(BookingEvent.booking_id)
            ).all()
        )
        for booking_id in booking_ids:
            booking = db.session.get(Booking, booking_id)
            changed = last.get(booking_id, booking.created_at)
            db.session.execute(
                update(Booking)
                .where(Booking.id == booking_id)
                .values(updated_at=changed, requested_notified_at=booking.created_at if booking.requested_notified_at else None)
            )


class Timeline:
    """What happens next in the history, in time order (ties in the order they were added)."""

    def __init__(self) -> None:
        self._heap: list = []
        self._seq = 0

    def add(self, when: dt.datetime, action, *args) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, action, args))

    def run(self, until: dt.datetime, stamps: Stamps) -> None:
        """Carry out everything due before ``until``, each stamped with its moment."""
        while self._heap and self._heap[0][0] < until:
            when, _seq, action, args = heapq.heappop(self._heap)
            action(when, *args)
            stamps.mark(when)
