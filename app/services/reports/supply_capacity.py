"""Capacity offered against capacity booked, by type of support and unit of price."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import select

from app.extensions import db
from app.models import Booking, BookingVisit, PriceUnit, ServiceHours, VisitStatus
from app.services.reports.filters import ReportFilter, add_months
from app.services.reports.stats import share
from app.services.reports.supply_scope import LISTED_NOTE, Listing
from app.services.reports.supply_visits import summed
from app.services.reports.tables import Chart, Column, Kind, Table

# Visits that never took a place: cancelled in time, or declined by the provider.
NOT_BOOKED = (VisitStatus.CANCELLED, VisitStatus.DECLINED)
DAY = dt.timedelta(days=1)

CAPACITY_NOTE = (
    "Capacity offered a week comes from each listing's usual weekly hours and how many people it can serve at once. "
    "Hourly listings offer the hours they are open times that number. Listings priced by the day, night, visit or item "
    "offer one unit a place for each day of the week they open; weekly listings offer one week a place. "
    "Listings with no usual hours cannot be booked, so offer nothing. Booked is the average a week of units in visits "
    "starting in the period (not cancelled in time or declined) of the same listings, for the district the care is for. "
)


def session_hours(opens_at: dt.time, closes_at: dt.time) -> float:
    """How long a session lasts, into the next morning when it closes earlier than it opens."""
    opens = dt.datetime.combine(dt.date.min, opens_at)
    closes = dt.datetime.combine(dt.date.min, closes_at)
    if closes <= opens:
        closes += DAY
    return (closes - opens).total_seconds() / 3600


def offered_per_week(listing: Listing, sessions: list[tuple[int, dt.time, dt.time]]) -> float:
    """The units ``listing`` can take a week (see CAPACITY_NOTE)."""
    if listing.price_unit is PriceUnit.HOUR:
        return sum(session_hours(opens, closes) for _, opens, closes in sessions) * listing.capacity
    if listing.price_unit is PriceUnit.WEEK:
        return float(listing.capacity) if sessions else 0.0
    return len({weekday for weekday, _, _ in sessions}) * listing.capacity


def _sessions(listing_ids: set[int]) -> dict[int, list[tuple[int, dt.time, dt.time]]]:
    found: dict[int, list] = defaultdict(list)
    rows = db.session.execute(select(ServiceHours.service_id, ServiceHours.weekday, ServiceHours.opens_at, ServiceHours.closes_at))
    for service_id, weekday, opens, closes in rows:
        if service_id in listing_ids:
            found[service_id].append((weekday, opens, closes))
    return found


def weeks_in(f: ReportFilter) -> float:
    return (add_months(f.last_month, 1) - f.first_month).days / 7


def capacity(f: ReportFilter, found: list[Listing], names: dict[int, str]) -> Table:
    sessions = _sessions({listing.id for listing in found})
    booked = summed(f, {"service_id": Booking.service_id}, (BookingVisit.units,), BookingVisit.status.not_in(NOT_BOOKED))
    weeks = weeks_in(f)
    cells: dict[tuple[str, PriceUnit], list] = {}
    for listing in found:
        cell = cells.setdefault((names[listing.category_id], listing.price_unit), [0, 0.0, 0])
        cell[0] += 1
        cell[1] += offered_per_week(listing, sessions.get(listing.id, []))
        cell[2] += booked.get((listing.id,), [0])[0]
    rows = []
    for (name, unit), (services, offered, units) in sorted(cells.items(), key=lambda item: (item[0][0], item[0][1].value)):
        per_week = units / weeks
        rows.append((name, unit.value, services, offered, per_week, _utilisation(per_week, offered)))
    return Table(
        "capacity",
        "Capacity offered and booked a week",
        (
            Column("category", "Type of support"),
            Column("unit", "Unit"),
            Column("services", "Services", Kind.COUNT),
            Column("offered", "Offered a week", Kind.NUMBER),
            Column("booked", "Booked a week", Kind.NUMBER),
            Column("utilisation", "Used", Kind.SHARE),
        ),
        rows,
        chart=Chart(
            "bar",
            "category",
            ("utilisation",),
            "Share of capacity booked",
            f"The share of each type of support's weekly capacity booked, {f.describe()}.",
        ),
        note=CAPACITY_NOTE + _filters_note(f) + LISTED_NOTE,
    )


def _utilisation(booked: float, offered: float) -> float | None:
    return share(booked, offered) if offered else None


def _filters_note(f: ReportFilter) -> str:
    said = ""
    if f.district:
        said += "A listing's whole capacity counts for every district its provider works in; booked counts care in this district only. "
    if f.way is not None:
        said += "Capacity counts listings that accept this way of paying; booked counts only bookings paid this way. "
    return said
