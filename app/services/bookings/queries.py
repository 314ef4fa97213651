"""Finding bookings: a person's, a provider's, and the council's search over all of them."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models import Booking, BookingStatus, BookingVisit, Provider, User, VisitStatus
from app.services import accounts
from app.services.bookings.requests import PlannedVisit
from app.services.errors import NotFound
from app.services.pagination import paginate


def bookings_for_citizen(citizen: User) -> list[Booking]:
    return list(db.session.execute(select(Booking).where(Booking.citizen_id == citizen.id).order_by(Booking.created_at.desc())).scalars())


def bookings_for_provider(provider: Provider, statuses: list[BookingStatus] | None = None) -> list[Booking]:
    query = select(Booking).where(Booking.provider_id == provider.id)
    if statuses:
        query = query.where(Booking.status.in_(statuses))
    return list(db.session.execute(query.order_by(Booking.created_at.desc())).scalars())


def search_bookings(text: str | None = None, *, page: int = 1, per_page: int = 50):
    """Every booking, newest first, for the council: optionally those whose reference,
    citizen (name or email) or provider matches ``text``. A page of them."""

    query = select(Booking).join(User, Booking.citizen_id == User.id).join(Provider, Booking.provider_id == Provider.id)
    text = (text or "").strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Booking.reference.ilike(pattern, escape="\\"),
                User.name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
                Provider.name.ilike(pattern, escape="\\"),
            )
        )
    return paginate(query.order_by(Booking.created_at.desc(), Booking.id.desc()), page, per_page)


def get_booking(public_id: str) -> Booking:
    booking = db.session.execute(select(Booking).where(Booking.public_id == public_id)).scalar_one_or_none()
    if booking is None:
        raise NotFound("No such booking")
    return booking


def made_by(request_key: str | None, booker: User) -> Booking | None:
    """The booking this person already made with a request key (a confirmation sent again)."""
    booking = db.session.execute(select(Booking).where(Booking.request_key == request_key)).scalar_one_or_none() if request_key else None
    return booking if booking is not None and booking.booked_by_id == booker.id else None


def clashes(citizen: User, visits: list[PlannedVisit]) -> list[BookingVisit]:
    """The citizen's upcoming visits (of bookings still going ahead, with any provider) that
    overlap any of ``visits``: two carers booked for the same time is usually a mistake."""
    if not visits:
        return []
    first, last = min(v.starts_at for v in visits), max(v.ends_at for v in visits)
    candidates = db.session.execute(
        select(BookingVisit)
        .join(Booking, BookingVisit.booking_id == Booking.id)
        .where(
            Booking.citizen_id == citizen.id,
            Booking.status.in_([BookingStatus.REQUESTED, BookingStatus.ACCEPTED]),
            BookingVisit.status.in_([s for s in VisitStatus if s.is_upcoming]),
            BookingVisit.starts_at < last,
            BookingVisit.ends_at > first,
        )
        .order_by(BookingVisit.starts_at)
    ).scalars()
    return [c for c in candidates if any(c.starts_at < v.ends_at and v.starts_at < c.ends_at for v in visits)]


# Once it has taken the booking on, the provider sees who to speak to and where the visits are.
SHARED_WITH_PROVIDER = (BookingStatus.ACCEPTED, BookingStatus.COMPLETED)


def provider_sees_contact(booking: Booking) -> bool:
    """Whether the provider is shown the person's contact details and the visit address."""
    return booking.status in SHARED_WITH_PROVIDER


def people_to_contact(booking: Booking) -> list[User]:
    """Who the provider can speak to about visits: the person the care is for and everyone
    acting for them (whoever booked first)."""
    people = [booking.citizen, *accounts.representatives_of(booking.citizen)]
    people.sort(key=lambda person: person.id != booking.booked_by_id)
    return [person for person in people if person.active]
