"""Telling people about card changes once the change has committed: notices are queued
(per thread) while a unit of work records them, and sent after it."""

from __future__ import annotations

import threading

from app.extensions import db
from app.models import Booking
from app.services import bookings


class _Pending(threading.local):
    def __init__(self):
        self.notifications: list[tuple[int, str]] = []


_pending = _Pending()


def queue(booking_id: int, what: str) -> None:
    """Tell the booking's people ``what`` changed, once the unit of work has committed."""
    _pending.notifications.append((booking_id, what))


def send_queued() -> None:
    while _pending.notifications:
        booking_id, what = _pending.notifications.pop(0)
        booking = db.session.get(Booking, booking_id)
        if booking is not None:
            bookings.notify_booking_change(booking, what)
