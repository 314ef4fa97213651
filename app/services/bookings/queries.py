"""Finding bookings: a person's, a provider's, and the council's search over all of them."""

from __future__ import annotations

from sqlalchemy import or_, select

from app.extensions import db
from app.models import (
    Booking,
    BookingStatus,
    Provider,
    User,
)
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
