"""Other services that could provide the visits of a request that expired unanswered.

The search the person could have made themselves, made for them: the same type of support,
serving the area the care is for, open on the days of the visits still to come and
accepting a personal budget when that is how they pay, in the order search shows
(framework rank, then quality). The provider that let the request lapse is left out, and
so is any service whose places at those visit times are all taken. Nothing here ranks
anything: the order is search's.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from app.database import utcnow
from app.extensions import db
from app.models import Booking, BookingStatus, BookingVisit, CapacityCell, FundingRoute, PaymentMethod, Service
from app.services import search
from app.services.bookings.capacity import capacity_cells
from app.services.errors import ValidationError
from app.uk_time import local_date

log = logging.getLogger(__name__)

SHOWN = 5  # alternatives offered at most
PAGES = 3  # search result pages looked through for them


def alternatives_for(booking: Booking, now: dt.datetime | None = None, limit: int = SHOWN) -> list[search.ResultItem]:
    """Up to ``limit`` services, best first, that could take an expired booking's visits
    still to come ([] for a booking that has not expired, or when search is unavailable)."""
    if booking.status is not BookingStatus.EXPIRED:
        return []
    now = now or utcnow()
    visits = [v for v in booking.visits if v.starts_at > now]
    params = search_for(booking, visits)
    found: list[search.ResultItem] = []
    try:
        for page in range(1, PAGES + 1):
            results = search.search(params.with_page(page), correct=False, broaden=False)
            for item in results.items:
                if item.provider_id != booking.provider_id and has_room(db.session.get(Service, item.service_id), booking, visits):
                    found.append(item)
                    if len(found) >= limit:
                        return found
            if results.page.page >= results.page.pages:
                break
    except (search.SearchUnavailable, ValidationError) as exc:
        log.warning("no alternatives for booking %s: %s", booking.id, exc)
    return found


def search_for(booking: Booking, visits: list[BookingVisit]) -> search.SearchParams:
    """The search for services like the booking's: its type of support, near the district the
    care is for, open on the days of ``visits``, taking the person's way of paying."""
    return search.SearchParams(
        category=booking.service.category.slug,
        postcode=booking.area_district or None,
        days=tuple(sorted({local_date(v.starts_at).weekday() for v in visits})),
        funding=FundingRoute.PERSONAL_BUDGET if booking.payment_method is PaymentMethod.BUDGET else None,
    )


def has_room(service: Service | None, booking: Booking, visits: list[BookingVisit]) -> bool:
    """Whether ``service`` has a place free at every one of ``visits``' times (read only: the
    place is taken, or found full, when the person books)."""
    if service is None:
        return False
    cells: set[dt.datetime] = set()
    for visit in visits:
        units = visit.units if service.price_unit is booking.price_unit else 1
        cells.update(capacity_cells(service.price_unit, visit.starts_at, visit.ends_at, units))
    if not cells:
        return True
    table = CapacityCell.__table__
    full = db.session.execute(
        select(table.c.starts_at)
        .where(table.c.service_id == service.id, table.c.starts_at.in_(sorted(cells)), table.c.used >= service.capacity)
        .limit(1)
    ).first()
    return full is None
