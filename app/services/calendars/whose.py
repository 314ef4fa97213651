"""Whose visits a person's calendar shows, and from which side they see them.

A citizen sees the visits of their own bookings; a representative, the visits of the people
who invited them to act for them (while that lasts); a provider's team member, the visits of
their organisation's bookings (while they are on its team). Nobody else has visits here.
Every question is asked afresh at each fetch, so a representation ended or a team member
removed stops their feed showing those visits at once.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app.extensions import db
from app.models import Booking, BookingVisit, Role, User
from app.services import accounts


class Side(str, enum.Enum):
    """Whose eyes a visit is described for: what it is called and what it tells."""

    PERSON = "person"  # the citizen the care is for
    REPRESENTATIVE = "representative"  # someone acting for them
    PROVIDER = "provider"  # the provider's team


SIDE_OF_ROLE = {Role.CITIZEN: Side.PERSON, Role.REPRESENTATIVE: Side.REPRESENTATIVE, Role.PROVIDER: Side.PROVIDER}


def may_have_feed(user: User) -> bool:
    """Citizens, representatives and provider staff have visits to follow; the council does not."""
    return isinstance(user, User) and user.active and user.role in SIDE_OF_ROLE


def side_of(user: User) -> Side:
    return SIDE_OF_ROLE[user.role]


def may_see(user: User, booking: Booking) -> bool:
    """May ``user`` have this booking's visits in a calendar: the same people who may open
    the booking's page."""
    if not may_have_feed(user):
        return False
    if user.role is Role.PROVIDER:
        membership = accounts.staff_membership(user)
        return membership is not None and membership.provider_id == booking.provider_id
    return accounts.can_act_for(user, booking.citizen)


def visits_for(user: User, *, since: dt.datetime) -> list[BookingVisit]:
    """The visits ``user`` follows that start at or after ``since``, earliest first."""
    if not may_have_feed(user):
        return []
    query = select(BookingVisit).join(Booking, BookingVisit.booking_id == Booking.id)
    if user.role is Role.PROVIDER:
        membership = accounts.staff_membership(user)
        if membership is None:
            return []
        query = query.where(Booking.provider_id == membership.provider_id)
    else:
        people = [person.id for person in accounts.people_user_acts_for(user)]
        if not people:
            return []
        query = query.where(Booking.citizen_id.in_(people))
    query = query.where(BookingVisit.starts_at >= since).options(contains_eager(BookingVisit.booking))
    return list(db.session.execute(query.order_by(BookingVisit.starts_at, BookingVisit.id)).unique().scalars())
