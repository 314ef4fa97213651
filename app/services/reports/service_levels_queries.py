"""The figures of the providers' service report, each aggregated in the database.

Medians: PostgreSQL works them out itself (percentile_cont, the same interpolation as
stats.quantile); SQLite has no such function, so there the times are read and the median
taken here (SQLite serves development and tests, never a council's full data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

from app.extensions import db
from app.models import Booking, BookingStatus, Enquiry, Role, Service
from app.services.reports.filters import ReportFilter
from app.services.reports.service_levels_bookings import booking_conditions, cancelled_visits, hours_between, in_period
from app.services.reports.stats import quantile


@dataclass(frozen=True)
class Requests:
    received: int
    decided: int
    accepted: int


def medians(key, start, end, conditions) -> tuple[dict[int, float], float | None]:
    """The median hours from ``start`` to ``end`` by ``key``, and over all of them."""
    conditions = [*conditions, end.is_not(None)]
    if db.session.get_bind().dialect.name == "postgresql":
        hours = func.percentile_cont(0.5).within_group(func.extract("epoch", end - start) / 3600)
        by_key = {k: float(h) for k, h in db.session.execute(select(key, hours).where(*conditions).group_by(key)).all()}
        overall = db.session.execute(select(hours).where(*conditions)).scalar()
        return by_key, float(overall) if overall is not None else None
    grouped: dict[int, list[float]] = {}
    for k, began, ended in db.session.execute(select(key, start, end).where(*conditions)).all():
        grouped.setdefault(k, []).append(hours_between(began, ended))
    every = [h for values in grouped.values() for h in values]
    return {k: quantile(values, 0.5) for k, values in grouped.items()}, quantile(every, 0.5)


def requests_by_provider(f: ReportFilter) -> dict[int, Requests]:
    """Requests made in the period, how many the provider has answered, and how many of
    those it accepted (whatever became of them after: completed or cancelled)."""
    decided = Booking.decided_at.is_not(None)
    accepted = case((decided & (Booking.status != BookingStatus.DECLINED), 1), else_=0)
    rows = db.session.execute(
        select(Booking.provider_id, func.count(), func.count(Booking.decided_at), func.sum(accepted))
        .where(*in_period(Booking.created_at, f), *booking_conditions(f))
        .group_by(Booking.provider_id)
    ).all()
    return {provider: Requests(int(n), int(d), int(a or 0)) for provider, n, d, a in rows}


def answer_hours(f: ReportFilter) -> tuple[dict[int, float], float | None]:
    return medians(Booking.provider_id, Booking.created_at, Booking.decided_at, [*in_period(Booking.created_at, f), *booking_conditions(f)])


def provider_cancellations(f: ReportFilter) -> dict[int, int]:
    query = cancelled_visits(f, Booking.provider_id, func.count(), roles=(Role.PROVIDER,)).group_by(Booking.provider_id)
    return {provider: int(n) for provider, n in db.session.execute(query).all()}


def enquiry_reply_hours(f: ReportFilter) -> tuple[dict[int, float], float | None]:
    conditions = in_period(Enquiry.created_at, f)
    if f.category is not None:
        conditions.append(Enquiry.service_id.in_(select(Service.id).where(Service.category_id == f.category.id)))
    return medians(Enquiry.provider_id, Enquiry.created_at, Enquiry.first_response_at, conditions)
